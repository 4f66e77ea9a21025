"""missionctl.agents.cli: up, down, status, pause, kill, restart, attach, hook."""
