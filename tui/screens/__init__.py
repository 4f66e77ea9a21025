"""missionctl.tui.screens: the grid, and the dialogs and pages on top of it."""
