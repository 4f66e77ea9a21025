"""The Textual app: the live grid of agents."""
