"""Stripe's objects turned into the provider values the services use."""

from __future__ import annotations

import stripe

from app.adapters.payment_provider import (
    ProviderAccount,
    ProviderAccountLink,
    ProviderBalance,
    ProviderBalanceTransaction,
    ProviderDispute,
    ProviderPaymentIntent,
    ProviderPayout,
    ProviderRefund,
    ProviderTransfer,
    ProviderTransferReversal,
)
from app.domain.money import Money


def object_id(value: str | stripe.StripeObject | None) -> str | None:
    """The id of an expandable field, whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    expanded_id = getattr(value, "id", None)
    return expanded_id if isinstance(expanded_id, str) else None


def metadata_of(value: stripe.StripeObject | None) -> dict[str, str]:
    return {str(key): str(item) for key, item in value.to_dict().items()} if value is not None else {}


def to_account(account: stripe.Account) -> ProviderAccount:
    requirements = account.requirements
    return ProviderAccount(
        id=account.id,
        email=account.email,
        country=account.country,
        charges_enabled=bool(account.charges_enabled),
        payouts_enabled=bool(account.payouts_enabled),
        details_submitted=bool(account.details_submitted),
        transfers_capability=getattr(account.capabilities, "transfers", None),
        requirements_due=tuple(requirements.currently_due or ()) if requirements else (),
        disabled_reason=requirements.disabled_reason if requirements else None,
        metadata=metadata_of(account.metadata),
    )


def to_account_link(link: stripe.AccountLink) -> ProviderAccountLink:
    return ProviderAccountLink(url=link.url, expires_at=link.expires_at)


def to_payment_intent(intent: stripe.PaymentIntent) -> ProviderPaymentIntent:
    return ProviderPaymentIntent(
        id=intent.id,
        client_secret=intent.client_secret,
        status=intent.status,
        amount=intent.amount,
        currency=intent.currency,
        latest_charge=object_id(intent.latest_charge),
        created=intent.created,
        metadata=metadata_of(intent.metadata),
    )


def to_transfer(transfer: stripe.Transfer) -> ProviderTransfer:
    return ProviderTransfer(
        id=transfer.id,
        amount=transfer.amount,
        currency=transfer.currency,
        destination=object_id(transfer.destination),
        transfer_group=transfer.transfer_group,
        source_transaction=object_id(transfer.source_transaction),
        amount_reversed=transfer.amount_reversed,
        created=transfer.created,
        metadata=metadata_of(transfer.metadata),
    )


def to_reversal(reversal: stripe.TransferReversal) -> ProviderTransferReversal:
    transfer_id = object_id(reversal.transfer)
    assert transfer_id is not None  # Stripe always names the reversed transfer
    return ProviderTransferReversal(
        id=reversal.id,
        transfer=transfer_id,
        amount=reversal.amount,
        currency=reversal.currency,
        created=reversal.created,
        metadata=metadata_of(reversal.metadata),
    )


def to_refund(refund: stripe.Refund) -> ProviderRefund:
    return ProviderRefund(
        id=refund.id,
        payment_intent=object_id(refund.payment_intent),
        charge=object_id(refund.charge),
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status,
        reason=refund.reason,
        # Stripe sends `failure_reason` only once a refund has failed.
        failure_reason=getattr(refund, "failure_reason", None),
        created=refund.created,
        metadata=metadata_of(refund.metadata),
    )


def to_payout(payout: stripe.Payout) -> ProviderPayout:
    return ProviderPayout(
        id=payout.id,
        amount=payout.amount,
        currency=payout.currency,
        status=payout.status,
        arrival_date=payout.arrival_date,
        failure_code=payout.failure_code,
        created=payout.created,
        metadata=metadata_of(payout.metadata),
    )


def to_balance(balance: stripe.Balance) -> ProviderBalance:
    return ProviderBalance(
        available=tuple(Money(funds.amount, funds.currency) for funds in balance.available),
        pending=tuple(Money(funds.amount, funds.currency) for funds in balance.pending),
    )


def to_balance_transaction(transaction: stripe.BalanceTransaction) -> ProviderBalanceTransaction:
    return ProviderBalanceTransaction(
        id=transaction.id,
        type=transaction.type,
        reporting_category=transaction.reporting_category,
        amount=transaction.amount,
        fee=transaction.fee,
        net=transaction.net,
        currency=transaction.currency,
        status=transaction.status,
        source=object_id(transaction.source),
        created=transaction.created,
        available_on=transaction.available_on,
    )


def to_dispute(dispute: stripe.Dispute) -> ProviderDispute:
    return ProviderDispute(
        id=dispute.id,
        charge=object_id(dispute.charge),
        payment_intent=object_id(dispute.payment_intent),
        amount=dispute.amount,
        currency=dispute.currency,
        reason=dispute.reason,
        status=dispute.status,
        evidence_due_by=dispute.evidence_details.due_by if dispute.evidence_details else None,
        created=dispute.created,
        metadata=metadata_of(dispute.metadata),
    )
