"""Every org.toml example in the README is valid: what people copy must load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from missionctl import orgfile

README = Path(__file__).resolve().parents[2] / "README.md"
# The org.toml examples (other TOML in the README is, e.g., an experiment's spec).
BLOCKS = [
    block
    for block in re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    if re.search(r"^\[(org|\[agent\]|providers\.)", block, re.MULTILINE)
]


def test_the_readme_has_its_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_each_org_example_validates(block: str) -> None:
    text = block if "[org]" in block else f'[org]\nname = "lab"\n\n{block}'
    org = orgfile.loads(text, Path("README.md"))
    assert org.agents
