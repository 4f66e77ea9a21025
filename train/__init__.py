"""The nanochat-style GPT trainer the org experiments on, its runs and metrics."""
