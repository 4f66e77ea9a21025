"""missionctl: mission control for a research organisation of coding agents."""

__version__ = "0.1.0"
