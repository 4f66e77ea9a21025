"""The scripted agent: a deterministic offline researcher or chief (the demo and tests)."""
