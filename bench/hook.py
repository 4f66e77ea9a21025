"""How long `missionctl hook` takes, the command every agent runs on every tool call.

Prints p50/p95 wall time (process start to exit) for the hook as Claude Code calls
it (event name, JSON on stdin), and, measured in the same run, a bare interpreter
start (`python -c pass`) as the baseline: the ratio is what missionctl adds on top
of Python itself. Target: the hook ≤ 100 ms wall on this machine.

    python bench/hook.py [--runs 40]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _time(argv: list[str], stdin: str, env: dict[str, str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, input=stdin, text=True, env=env, check=True, capture_output=True)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=40)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mc-bench-hook-"))
    (root / ".missionctl").mkdir()
    env = {**os.environ, "MISSIONCTL_AGENT": "r1", "MISSIONCTL_WORKSPACE": str(root)}
    script = shutil.which("missionctl") or str(Path(sys.executable).with_name("missionctl"))
    payload = json.dumps({"hook_event_name": "PreToolUse", "tool_name": "Bash",
                          "tool_input": {"command": "ls"}})  # fmt: skip
    # Interleave the two so drift on a shared machine hits both alike.
    base: list[float] = []
    hook: list[float] = []
    for _ in range(args.runs // 5):
        base += _time([sys.executable, "-c", "pass"], "", env, 5)
        hook += _time([script, "hook", "PreToolUse"], payload, env, 5)
    shutil.rmtree(root)
    b50, h50, h95 = statistics.median(base), statistics.median(hook), _p(hook, 95)
    print(f"python -c pass          p50 {b50:6.1f} ms  p95 {_p(base, 95):6.1f} ms  (baseline)")
    print(f"missionctl hook (Claude) p50 {h50:6.1f} ms  p95 {h95:6.1f} ms")
    print(f"ratio hook/baseline p50: {h50 / b50:.2f}x; missionctl adds {h50 - b50:.1f} ms")
    print(f"target p95 <= 100 ms: {'met' if h95 <= 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
