"""missionctl.train: the nanochat-style GPT trainer the org experiments on, and its runs."""
