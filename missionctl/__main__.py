"""`python -m missionctl` is the `missionctl` command."""

from missionctl.cli import main

raise SystemExit(main())
