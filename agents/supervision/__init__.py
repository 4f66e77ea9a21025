"""missionctl.agents.supervision: the supervisor (window 0): mail notices, standups."""
