"""missionctl.ledger.spend: tokens and cost per agent, a price table, budgets.

Below `agents/` and beside `train/`, torch-free, so that the ledger can add an
agent's model spend to an experiment's compute cost (`agent_spend`).
"""

from missionctl.ledger.spend.logs import UsageLog
from missionctl.ledger.spend.prices import DEFAULT_PRICES, ModelPrice, PriceTable
from missionctl.ledger.spend.reader import (
    Spend,
    SpendReader,
    agent_spend,
    budget_warning,
    prices_for,
    summarise,
    usage_log_path,
)
from missionctl.ledger.spend.tokens import Tokens, UsageRecord

__all__ = [
    "DEFAULT_PRICES",
    "ModelPrice",
    "PriceTable",
    "Spend",
    "SpendReader",
    "Tokens",
    "UsageLog",
    "UsageRecord",
    "agent_spend",
    "budget_warning",
    "prices_for",
    "summarise",
    "usage_log_path",
]
