"""missionctl.agents.supervision: the supervisor (window 0): mail notices, claim answers,
standups and their digests."""

# The name the supervisor's mail comes from (reserved in org.toml: no agent is called it).
SENDER = "supervisor"
