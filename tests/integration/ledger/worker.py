"""An agent hammering the ledger from its own process, for the concurrency test.

worker.py ROOT ARM COUNT: for seed 1..COUNT, attach run ARM-<seed> to experiment
"crowd" and read the experiment's verdict, each with a fresh connection (as
every `missionctl exp ...` call opens one). Prints "ok" and the operations done,
or the first error.
"""

from __future__ import annotations

import sys
from pathlib import Path

from missionctl.ledger import Ledger


def main(root: Path, arm: str, count: int) -> None:
    done = 0
    for seed in range(1, count + 1):
        with Ledger.open(root) as ledger:
            ledger.attach("crowd", arm, [f"{arm}-{seed}"])
        done += 1
        with Ledger.open(root) as ledger:
            verdict = ledger.verdict("crowd")
            assert verdict.runs_done >= seed, verdict.runs_done  # its own attach is there
        done += 1
    print(f"ok {done}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
