"""The signal other features act on: a seller became able, or stopped being able, to receive
transfers (the account's `transfers` capability became active, or stopped being so).

Listeners are registered by the composition root (`app.container`) and called in the process
that stored the change, after its transaction committed, once per change: the release of money
waiting for a seller can start the moment the seller can receive it, and stop when they cannot.
A listener that fails is logged and not called again for that change: the state is in MongoDB
(`stripe_accounts.can_receive_transfers`, indexed), so a job catches up on what a listener
missed (`StripeAccounts.sellers_receiving_transfers`), and a listener must do nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TransferSignal:
    seller_id: str
    account_id: str
    can_receive_transfers: bool


TransferSignalListener = Callable[[TransferSignal], Awaitable[None]]


class TransferSignals:
    def __init__(self) -> None:
        self._listeners: list[TransferSignalListener] = []

    def listen(self, listener: TransferSignalListener) -> None:
        self._listeners.append(listener)

    async def publish(self, signal: TransferSignal) -> None:
        log.info(
            "seller_transfers_changed",
            seller_id=signal.seller_id,
            stripe_account=signal.account_id,
            can_receive_transfers=signal.can_receive_transfers,
        )
        for listener in self._listeners:
            try:
                await listener(signal)
            except Exception:
                # The change is committed; the listener's own work is caught up by its job.
                log.exception("transfer_signal_listener_failed", seller_id=signal.seller_id)
