"""Quality gates: ruff, strict mypy, and the import contracts (only tui/ imports textual).

The distribution maps top-level folders onto `missionctl.*` sub-packages; mypy and
import-linter read files, not import hooks, so both run on a staged copy laid out
the way the package installs.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _package_dirs() -> dict[str, str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return mapping


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The source laid out as installed: <stage>/missionctl/agents/... and so on."""
    stage = tmp_path_factory.mktemp("stage")
    for package, folder in sorted(_package_dirs().items()):
        shutil.copytree(
            REPO / folder,
            stage / package.replace(".", "/"),
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )
    yield stage


def _unstage(text: str, stage: Path) -> str:
    """Point messages about staged files back at the repository's folders."""
    for package, folder in sorted(_package_dirs().items(), key=lambda kv: -len(kv[0])):
        text = text.replace(str(stage / package.replace(".", "/")), folder)
    return text


def _run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=900, env={**os.environ, **(env or {})}
    )


def test_ruff_check() -> None:
    proc = _run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format() -> None:
    proc = _run([sys.executable, "-m", "ruff", "format", "--check", "."], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict(staged: Path) -> None:
    proc = _run(
        [
            sys.executable, "-m", "mypy",
            "--config-file", str(REPO / "pyproject.toml"),
            "--cache-dir", str(REPO / ".mypy_cache"),
            "-p", "missionctl",
        ],
        cwd=staged,
        env={"MYPYPATH": str(staged)},
    )  # fmt: skip
    assert proc.returncode == 0, _unstage(proc.stdout + proc.stderr, staged)


def test_import_contracts(staged: Path) -> None:
    proc = _run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=staged,
        env={"PYTHONPATH": str(staged)},
    )  # fmt: skip
    assert proc.returncode == 0, _unstage(proc.stdout + proc.stderr, staged)
    assert "0 broken" in proc.stdout


def test_no_module_outside_tui_imports_textual(staged: Path) -> None:
    """Covers every module, including ones added after the contracts were written."""
    code = (
        "import grimp, json;"
        "g = grimp.build_graph('missionctl', include_external_packages=True);"
        "m = g.find_modules_that_directly_import('textual') if 'textual' in g.modules else [];"
        "print(json.dumps(sorted(m)))"
    )
    proc = _run([sys.executable, "-c", code], cwd=staged, env={"PYTHONPATH": str(staged)})
    assert proc.returncode == 0, proc.stderr
    importers = json.loads(proc.stdout)
    leaks = [m for m in importers if not m.startswith("missionctl.tui")]
    assert leaks == []
    base = [
        p.stem for p in (REPO / "missionctl").glob("*.py") if p.stem not in ("__init__", "__main__")
    ]
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    core_contract = config["tool"]["importlinter"]["contracts"][1]["source_modules"]
    assert sorted(f"missionctl.{m}" for m in base) == sorted(core_contract), (
        "list every module of missionctl/ in the core contract in pyproject.toml"
    )


def test_every_package_folder_is_in_the_distribution() -> None:
    """A sub-package missing from `packages` works editable but vanishes from a real install."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = set()
    for package, folder in _package_dirs().items():
        base = REPO / folder
        for init in base.rglob("*"):
            if init.is_dir() and "__pycache__" not in init.parts and any(init.iterdir()):
                rel = init.relative_to(base).parts
                if (
                    package == "missionctl"
                    and rel
                    and rel[0] in {"agents", "worktrees", "mailbox", "train", "tui"}
                ):
                    continue
                found.add(".".join((package, *rel)))
        found.add(package)
    assert found == listed


def _code_packages() -> dict[str, Path]:
    """Every package of product code (a folder with an `__init__.py`): name -> folder."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    dirs = _package_dirs()
    out = {}
    for name in config["tool"]["setuptools"]["packages"]:
        base = max((p for p in dirs if name == p or name.startswith(p + ".")), key=len)
        folder = REPO / dirs[base] / Path(*name[len(base) :].split(".")[1:])
        if (folder / "__init__.py").is_file():
            out[name] = folder
    return out


def test_each_package_says_in_one_line_what_it_owns_and_what_it_imports_as() -> None:
    for name, folder in _code_packages().items():
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
        first = doc.splitlines()[0] if doc else ""
        assert first.startswith(f"{name}: ") and len(first) > len(name) + 10, (
            f"{folder.relative_to(REPO)}/__init__.py: start the docstring with '{name}: what it owns'"
        )


def test_no_package_folder_holds_more_than_14_modules() -> None:
    for name, folder in _code_packages().items():
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= 14, f"{name} holds {len(modules)} modules: split it by concern"


def test_the_readme_layout_names_every_package() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Layout") :]
    table = table[: table.index("\n\n", table.index("| folder |"))]
    rows = {
        (folder.strip(" `"), name.strip(" `"))
        for folder, name, *_ in (line.strip("|").split(" | ") for line in table.splitlines()[4:])
    }
    for name, folder in _code_packages().items():
        assert (f"{folder.relative_to(REPO)}/", name) in rows, f"README's Layout lacks {name}"
