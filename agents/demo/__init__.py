"""missionctl.agents.demo: the offline demo workspace and its scripted agents."""
