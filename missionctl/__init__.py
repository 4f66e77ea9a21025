"""missionctl: mission control for a research org of coding agents; the shared core."""

__version__ = "0.1.0"
