"""What operators watch: the figures of the admin overview, the Prometheus gauges read from the
books on each scrape, and the counters other domains count into."""

from app.services.monitoring.figures import Figures, FigureSources, OperationsFigures
from app.services.monitoring.metrics import CHECKOUTS, PAYOUTS
from app.services.monitoring.webhook_handlers import PaymentIntentOutcomeHandlers

__all__ = [
    "CHECKOUTS",
    "PAYOUTS",
    "FigureSources",
    "Figures",
    "OperationsFigures",
    "PaymentIntentOutcomeHandlers",
]
