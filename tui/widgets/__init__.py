"""missionctl.tui.widgets: the app's widgets, one module per feature."""
