"""missionctl.agents.sdk: the `anthropic` and `openai` agents, line programs on the SDKs."""
