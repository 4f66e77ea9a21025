"""`python -m missionctl.train`: the trainer's command line (see `missionctl.train.cli`)."""

import sys

from missionctl.errors import UserError
from missionctl.train.cli import main

try:
    code = main(sys.argv[1:])
except UserError as exc:
    print(f"missionctl: {exc}", file=sys.stderr)
    code = exc.exit_code
except KeyboardInterrupt:
    # Ctrl-C while queued for a slot (a training run reports its own interruption).
    print("missionctl: interrupted", file=sys.stderr)
    code = 130
raise SystemExit(code)
