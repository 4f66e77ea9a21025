"""missionctl.agents.state: hook records, what screens say, the one state reader."""
