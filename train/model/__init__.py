"""missionctl.train.model: the GPT, its fused CPU ops, optimizer and FLOPs count."""
