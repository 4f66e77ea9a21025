"""`python -m missionctl.agents.sdk AGENT`: what the anthropic and openai providers run."""

import sys

from missionctl.agents.sdk.main import main

raise SystemExit(main(sys.argv[1:]))
