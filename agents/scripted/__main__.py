"""`python -m missionctl.agents.scripted AGENT`: what the scripted provider runs."""

import sys

from missionctl.agents.scripted.agent import main

raise SystemExit(main(sys.argv[1:]))
