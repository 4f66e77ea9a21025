"""Local fake model servers (stdlib only) for the real agent CLIs to talk to in tests."""
