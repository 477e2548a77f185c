"""The ledger: balanced journal entries applied to MongoDB with their balances and postings."""

from app.services.ledger.repository import INDEXES, BalanceAfter, BalanceMoved, JournalEntryRecord, Posting
from app.services.ledger.service import Ledger

__all__ = ["INDEXES", "BalanceAfter", "BalanceMoved", "JournalEntryRecord", "Ledger", "Posting"]
