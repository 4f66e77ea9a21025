"""missionctl.agents.notify: notifications for the people who run the org."""
