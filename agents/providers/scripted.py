"""The scripted agent (`agents/demo/scripted/`): a deterministic, offline researcher or chief."""

from __future__ import annotations

from missionctl.agents.providers.base import OwnProgram


class Scripted(OwnProgram):
    name = "scripted"
    module = "missionctl.agents.demo.scripted"
