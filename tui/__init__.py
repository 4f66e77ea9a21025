"""missionctl.tui: the Textual app (the only package that imports textual)."""
