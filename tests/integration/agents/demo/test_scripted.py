"""The scripted agent in a real hub: a prompt people can type into, and real work from mail."""

from __future__ import annotations

from collections.abc import Callable

from missionctl.agents.demo.scripted import plan
from missionctl.agents.org.hub import Hub
from missionctl.mailbox import Mailbox
from missionctl.train.runs.reader import load_run
from tests.helpers import wait_for

ORG = """
[[agent]]
name = "boss"
role = "chief"
provider = "shell"

[[agent]]
name = "r1"
provider = "scripted"

[providers.scripted]
env = { MISSIONCTL_SCRIPTED_PRESET = "cpu-tiny", MISSIONCTL_SCRIPTED_PACE = "0" }
"""


def test_scripted_researcher_takes_typed_commands_and_runs_tasks(
    hub_factory: Callable[..., Hub],
) -> None:
    hub = hub_factory(ORG, extra='structure = "hierarchical"\n')
    hub.up()

    def screen() -> str:
        return hub.tmux.capture("=hub:r1", history=200)

    wait_for(lambda: "Waiting for a task from boss" in screen(), timeout=30)
    wait_for(lambda: hub.statuses()[1].state.name == "idle", timeout=30)

    # Typed commands work, as they would for a person who took the agent over.
    hub.tmux.run("send-keys", "-t", "=hub:r1", "say hello from the keyboard", "Enter")
    wait_for(lambda: "● hello from the keyboard" in screen(), message="the typed line")
    hub.tmux.run("send-keys", "-t", "=hub:r1", "frobnicate", "Enter")
    wait_for(lambda: "I don't know 'frobnicate'" in screen(), message="the unknown command")
    record = hub.states.hook("r1")
    assert record is not None and record.prompt == "frobnicate"

    # A task by mail: the supervisor tells it, it trains for real and replies.
    box = Mailbox.for_workspace(hub.ws)
    command = "python -m missionctl.train --preset cpu-tiny --seed 4 --set logit_softcap=0"
    sent = box.send("human", "r1", plan.task_body(command), kind="task", subject="seed 4")[0]
    reply = wait_for(lambda: [m for m in box.inbox("human") if m.reply_to == sent.id],
                     timeout=120, message="the result")[0]  # fmt: skip
    assert reply.kind == "result" and reply.sender == "r1"
    assert len(reply.runs) == 1
    run = load_run(hub.ws, reply.runs[0])
    assert run.status == "ok" and run.agent == "r1" and run.seed == 4
    assert run.config["logit_softcap"] == 0
    assert f"val_bpb={run.final_val_bpb:.4f}" in reply.body
