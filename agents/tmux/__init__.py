"""missionctl.agents.tmux: the hub's tmux server, control-mode client and pane sources."""
