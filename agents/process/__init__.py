"""missionctl.agents.process: the agent window's wrapper and its process tree."""
