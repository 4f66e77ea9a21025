"""Notifications for the people who run the org: what is worth a ping, and sending it."""
