"""missionctl.agents.demo.scripted: a deterministic offline researcher or chief."""
