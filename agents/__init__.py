"""The agents: providers, the tmux hub, agent state, pause/kill/restart, the supervisor."""
