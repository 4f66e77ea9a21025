"""missionctl.agents.org: the running org: its hub, the app's monitor and facade."""
