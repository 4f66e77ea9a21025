"""The `anthropic` and `openai` agents: interactive line programs on the official SDKs."""
