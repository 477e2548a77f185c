"""The buyer's wallet: legacy and platform balances, spending and refunds, top-ups."""

from app.domain.wallet import TopupAlreadyOpened
from app.services.wallet.funds import Share, WalletEntry, WalletFunds
from app.services.wallet.repository import INDEXES, Topup, TopupPage
from app.services.wallet.topup_expiry import TopupExpiry, run_topup_expiry
from app.services.wallet.topups import TooManyOpenTopups, TopupAmountOutOfRange, Topups, UnsupportedCurrency
from app.services.wallet.view import WalletFlow, WalletLine, WalletSummary, WalletView
from app.services.wallet.webhook_handlers import TopupWebhookHandlers

__all__ = [
    "INDEXES",
    "Share",
    "TooManyOpenTopups",
    "Topup",
    "TopupAlreadyOpened",
    "TopupAmountOutOfRange",
    "TopupExpiry",
    "TopupPage",
    "TopupWebhookHandlers",
    "Topups",
    "UnsupportedCurrency",
    "WalletEntry",
    "WalletFlow",
    "WalletFunds",
    "WalletLine",
    "WalletSummary",
    "WalletView",
    "run_topup_expiry",
]
