"""Experiment files and flags: the interface users' scripts rely on, and every way to get it wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from missionctl.errors import UserError
from missionctl.ledger import spec


def _documented() -> str:
    """The experiment file the module's docstring shows (users copy it): tested as shown."""
    doc = spec.__doc__ or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    return "".join(line.removeprefix("    ") + "\n" for line in block.splitlines())


INTERFACE = _documented()


def _load(tmp_path: Path, text: str) -> spec.ExperimentSpec:
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return spec.parse(spec.load_file(path))


def test_the_documented_experiment_file_parses(tmp_path: Path) -> None:
    exp = _load(tmp_path, INTERFACE)
    assert (exp.id, exp.test, exp.margin, exp.seeds, exp.preset) == (
        "softcap-off", "noninferiority", 0.01, [1, 2, 3], "cpu-smoke",
    )  # fmt: skip
    assert exp.declared_knobs == ["logit_softcap"] and exp.treatments == ["nocap"]
    assert exp.threshold == 0.01 and exp.budget == "flops=3e+12"
    assert exp.arms["nocap"].overrides == {"logit_softcap": 0.0}  # typed like the knob
    assert exp.expected_config("nocap", 2)["logit_softcap"] == 0.0
    assert exp.expected_config("nocap", 2)["seq_len"] == 128  # the preset's
    assert exp.plan_argv("nocap", 2) == [
        "python", "-m", "missionctl.train", "--preset", "cpu-smoke", "--budget", "flops=3e+12",
        "--seed", "2", "--set", "logit_softcap=0", "--exp", "softcap-off", "--arm", "nocap",
    ]  # fmt: skip
    # Canonical: the stored form reads back equal, with the same hash.
    assert spec.decode(spec.encode(exp)) == exp
    assert spec.decode(spec.encode(exp)).spec_hash() == exp.spec_hash()


def test_thresholds_point_the_way_the_goal_says() -> None:
    base: dict[str, Any] = {
        "id": "x", "question": "q", "seeds": [1, 2], "preset": "cpu-tiny", "budget": "steps=4",
        "arms": {"baseline": {}, "t": {"set": {"lr": 0.01}}},
    }  # fmt: skip
    cases = [
        ({"test": "noninferiority", "margin": 0.02}, 0.02),
        ({"test": "superiority", "min_effect": 0.03}, -0.03),
        ({"test": "noninferiority", "margin": 0.02, "goal": "higher"}, -0.02),
        ({"test": "superiority", "min_effect": 0.03, "goal": "higher"}, 0.03),
    ]
    for extra, theta in cases:
        assert spec.parse({**base, **extra}).threshold == theta


def test_a_command_experiment_plans_missionctl_run_with_its_sets() -> None:
    exp = spec.parse({
        "id": "nanochat-lr", "question": "q", "test": "superiority", "min_effect": 0.01,
        "seeds": [7, 8], "command": "torchrun -m scripts.base_train --seed={seed}",
        "budget": "steps=1000", "set": {"depth": 12},
        "arms": {"baseline": {"set": {"lr": 0.02}}, "low": {"set": {"lr": 0.01}}},
    })  # fmt: skip
    assert exp.runner == "command"
    assert exp.plan_argv("low", 8) == [
        "missionctl", "run", "--exp", "nanochat-lr", "--arm", "low", "--seed", "8", "--",
        "torchrun", "-m", "scripts.base_train", "--seed=8", "--depth=12", "--lr=0.01",
    ]  # fmt: skip
    assert exp.expected_config("low", 8) == {
        "command": "torchrun -m scripts.base_train", "seed": "8", "depth": "12", "lr": "0.01",
    }  # fmt: skip


BAD_FILES = [
    ("margin = 0.01", "margin = -0.01", "exp.toml:6: margin: must be greater than 0, not -0.01"),
    ("margin = 0.01", "margin = 0", "exp.toml:6: margin: must be greater than 0, not 0"),
    ("margin = 0.01", 'margin = "big"', "exp.toml:6: margin: must be a number, not str"),
    ("margin = 0.01\n", "", "exp.toml:5: test: a noninferiority test needs margin"),
    ("seeds = [1, 2, 3]", "seeds = [1]", "exp.toml:8: seeds: 1 seed cannot measure noise"),
    ("seeds = [1, 2, 3]", "seeds = [1, 1]", "exp.toml:8: seeds: lists a seed twice"),
    ('id = "softcap-off"', 'id = "../etc"', "exp.toml:1: id: '../etc' is not a valid id"),
    ('goal = "lower"', 'goal = "down"', "exp.toml:4: goal: unknown goal 'down'"),
    ('preset = "cpu-smoke"', 'preset = "huge"', "exp.toml:9: preset: unknown preset 'huge'"),
    (
        'budget = "flops=3e12"',
        'budget = "hours=2"',
        "exp.toml:10: budget: budget 'hours=2' is not KIND=AMOUNT",
    ),
    ("[arms.baseline]", "[arms.base]", "exp.toml: arms: there is no 'baseline' arm"),
    (
        "logit_softcap = 0 }",
        "logit_softcp = 0 }",
        "exp.toml:14: arms.nocap.set.logit_softcp: unknown config key",
    ),
    (
        "logit_softcap = 0 }",
        "logit_softcap = -1 }",
        "exp.toml:14: arms.nocap.set.logit_softcap: logit_softcap=-1 is out of range",
    ),
    (
        "logit_softcap = 0 }",
        "init_seed = 3 }",
        "exp.toml:14: arms.nocap.set.init_seed: seeds are not config",
    ),
    ("alpha = 0.05", "alpha = 0.7", "exp.toml:7: alpha: 0.7 is out of range"),
    ("alpha = 0.05", "alpah = 0.05", "exp.toml:7: alpah: unknown key 'alpah'"),
    (
        'metric = "val_bpb"',
        'metric = "accuracy"',
        "exp.toml:3: metric: the trainer reports val_bpb, not 'accuracy'",
    ),
    (
        "margin = 0.01",
        "margin = 0.01\nmin_effect = 0.01",
        "exp.toml:7: min_effect: a noninferiority test has no min_effect",
    ),
    (
        'preset = "cpu-smoke"',
        'command = "python t.py"\npreset = "cpu-smoke"',
        "exp.toml:10: preset: give exactly one of preset",
    ),
    ("[arms.nocap]\nset = { logit_softcap = 0 }", "", "exp.toml: arms: there is no treatment arm"),
    ("[arms.nocap]", "[arms.No_Cap]", "exp.toml:13: arms.No_Cap: 'No_Cap' is not a valid arm name"),
    (
        "seeds = [1, 2, 3]",
        'seeds = [1, 2, 3]\nknobs = ["lr"]',
        "exp.toml:13: arms.baseline.set: sets 'logit_softcap', which is not a declared knob",
    ),
    ("margin = 0.01", "margin = 0.01 margin", "exp.toml: not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_FILES)
def test_a_bad_file_names_the_line_the_key_and_the_fix(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in INTERFACE
    with pytest.raises(UserError) as err:
        _load(tmp_path, INTERFACE.replace(old, new, 1))
    text = str(err.value).replace(f"{tmp_path}/", "")
    assert text.startswith(message) or message in text, text
    assert "\n" not in text and "; " in text  # one line, with the fix after the problem


def test_flags_name_the_flag_not_a_file() -> None:
    raw = {"id": "x", "question": "q", "test": "superiority", "min_effect": -1.0, "seeds": [1, 2],
           "preset": "cpu-tiny", "budget": "steps=4", "arms": {"baseline": {}, "t": {}}}  # fmt: skip
    with pytest.raises(UserError, match=r"^--min-effect: must be greater than 0, not -1; e\.g\."):
        spec.parse(raw)


def test_a_missing_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist; write the experiment file first"):
        spec.load_file(tmp_path / "none.toml")


def test_command_lines_are_read_as_config() -> None:
    from missionctl.train.commandline import command_config

    assert command_config(["python", "-m", "scripts.train", "--depth=12", "lr=0.02", "-v", "x y"]) == {
        "command": "python -m scripts.train -v 'x y'", "depth": "12", "lr": "0.02",
    }  # fmt: skip
    assert spec.normalise("0.50") == spec.normalise(0.5) == 0.5
    assert spec.normalise("True") is True and spec.normalise("relu2") == "relu2"
