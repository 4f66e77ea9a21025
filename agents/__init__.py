"""missionctl.agents: the agents: providers, the tmux hub, state, lifecycle, the supervisor."""
