"""missionctl.train.runs: run records, metrics, slots, readers; torch-free."""
