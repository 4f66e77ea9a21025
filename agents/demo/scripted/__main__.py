"""`python -m missionctl.agents.demo.scripted AGENT`: what the scripted provider runs."""

import sys

from missionctl.agents.demo.scripted.agent import main

raise SystemExit(main(sys.argv[1:]))
