"""Stripe's objects turned into the provider values the services use."""

from __future__ import annotations

import stripe

from app.adapters.payment_provider import (
    Account,
    AccountLink,
    AccountRequirements,
    Balance,
    BalanceTransaction,
    Charge,
    Dispute,
    PaymentIntent,
    Payout,
    Refund,
    RequirementError,
    Transfer,
    TransferReversal,
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


def to_account(account: stripe.Account) -> Account:
    capabilities = account.capabilities.to_dict() if account.capabilities else {}
    return Account(
        id=account.id,
        email=account.email,
        country=account.country,
        charges_enabled=account.charges_enabled is True,
        payouts_enabled=account.payouts_enabled is True,
        details_submitted=account.details_submitted is True,
        capabilities={str(name): str(status) for name, status in capabilities.items()},
        requirements=to_requirements(account.requirements),
        metadata=metadata_of(account.metadata),
        future_requirements=to_requirements(account.future_requirements),
        created=account.created,
    )


def to_requirements(
    requirements: stripe.Account.Requirements | stripe.Account.FutureRequirements | None,
) -> AccountRequirements:
    if requirements is None:
        return AccountRequirements()
    return AccountRequirements(
        currently_due=tuple(requirements.currently_due or ()),
        eventually_due=tuple(requirements.eventually_due or ()),
        past_due=tuple(requirements.past_due or ()),
        pending_verification=tuple(requirements.pending_verification or ()),
        current_deadline=requirements.current_deadline,
        disabled_reason=requirements.disabled_reason,
        errors=tuple(RequirementError(error.requirement, error.code) for error in requirements.errors or ()),
    )


def to_account_link(link: stripe.AccountLink) -> AccountLink:
    return AccountLink(url=link.url, expires_at=link.expires_at)


def to_payment_intent(intent: stripe.PaymentIntent) -> PaymentIntent:
    return PaymentIntent(
        id=intent.id,
        client_secret=intent.client_secret,
        status=intent.status,
        amount=intent.amount,
        amount_received=intent.amount_received,
        currency=intent.currency,
        latest_charge=object_id(intent.latest_charge),
        created=intent.created,
        metadata=metadata_of(intent.metadata),
    )


def to_charge(charge: stripe.Charge) -> Charge:
    expanded = charge.balance_transaction
    return Charge(
        id=charge.id,
        payment_intent=object_id(charge.payment_intent),
        amount=charge.amount,
        amount_refunded=charge.amount_refunded,
        currency=charge.currency,
        status=charge.status,
        balance_transaction=object_id(charge.balance_transaction),
        created=charge.created,
        metadata=metadata_of(charge.metadata),
        settlement=to_balance_transaction(expanded)
        if isinstance(expanded, stripe.BalanceTransaction)
        else None,
    )


def to_transfer(transfer: stripe.Transfer) -> Transfer:
    return Transfer(
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


def to_reversal(reversal: stripe.TransferReversal) -> TransferReversal:
    transfer_id = object_id(reversal.transfer)
    assert transfer_id is not None  # Stripe always names the reversed transfer
    return TransferReversal(
        id=reversal.id,
        transfer=transfer_id,
        amount=reversal.amount,
        currency=reversal.currency,
        created=reversal.created,
        metadata=metadata_of(reversal.metadata),
    )


def to_refund(refund: stripe.Refund) -> Refund:
    return Refund(
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


def to_payout(payout: stripe.Payout) -> Payout:
    return Payout(
        id=payout.id,
        amount=payout.amount,
        currency=payout.currency,
        status=payout.status,
        arrival_date=payout.arrival_date,
        failure_code=payout.failure_code,
        created=payout.created,
        metadata=metadata_of(payout.metadata),
        failure_message=payout.failure_message,
        automatic=payout.automatic is True,
    )


def to_balance(balance: stripe.Balance) -> Balance:
    return Balance(
        available=tuple(Money(funds.amount, funds.currency) for funds in balance.available),
        pending=tuple(Money(funds.amount, funds.currency) for funds in balance.pending),
    )


def to_balance_transaction(transaction: stripe.BalanceTransaction) -> BalanceTransaction:
    return BalanceTransaction(
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


def to_dispute(dispute: stripe.Dispute) -> Dispute:
    return Dispute(
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
        balance_transactions=tuple(
            to_balance_transaction(transaction) for transaction in dispute.balance_transactions or ()
        ),
    )
