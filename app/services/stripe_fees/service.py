"""Recording the fee Stripe kept from a charge, read from Stripe once the charge's balance
transaction is known (at `payment_intent.succeeded` if Stripe had it then, else at the
`charge.updated` that brings it: Stripe fills it in asynchronously since 2024).

Each fee is audited (`stripe_fee.recorded`) in the transaction of its entry, once."""

from __future__ import annotations

import structlog

from app.adapters.payment_provider import PaymentProvider
from app.domain.audit import Actor, AuditObject
from app.domain.stripe_fees import stripe_fee_entry
from app.services.audit import AuditLog
from app.services.ledger import Ledger

log = structlog.get_logger(__name__)

RECORDED = "stripe_fee.recorded"


class StripeFees:
    def __init__(self, ledger: Ledger, provider: PaymentProvider, audit: AuditLog) -> None:
        self._ledger = ledger
        self._provider = provider
        self._audit = audit

    async def record_charge_fee(self, charge_id: str, actor: Actor) -> bool:
        """Post the fee of the platform's charge `charge_id`, once; whether its balance
        transaction was known (a later `charge.updated` brings it otherwise)."""
        charge = await self._provider.retrieve_charge(charge_id)
        settlement = charge.settlement
        if settlement is None:
            log.info("stripe_fee_not_known_yet", charge=charge_id)
            return False
        if settlement.fee > 0:
            await self._ledger.post(
                stripe_fee_entry(
                    settlement.id,
                    settlement.fee,
                    settlement.currency,
                    charge=charge.id,
                    payment_intent=charge.payment_intent,
                ),
                along=lambda session: [
                    self._audit.prepare(
                        session,
                        actor,
                        RECORDED,
                        AuditObject("stripe_fee", settlement.id),
                        before=None,
                        after={"fee": settlement.fee, "currency": settlement.currency, "charge": charge.id},
                    )
                ],
            )
            log.info(
                "stripe_fee_recorded", charge=charge_id, balance_transaction=settlement.id, fee=settlement.fee
            )
        return True
