"""Which writes of the service are state changes, and so audited: the inventory the audit tests
check the source and the running service against.

Every writer the source holds (`tests/services/audit/writers.py`) is in exactly one of three
places here:

- nowhere, the default: a state change. Every write it sends must be in a committed transaction
  that also inserts an audit record (`test_every_change_audited.py` checks it, command by
  command, while it walks the service), and some walk must reach it (`test_inventory.py`).
- `STORED_FROM_STRIPE`: it stores what a read of Stripe found; the change is audited when what it
  stores changes the object's status or standing, and a walk proves that case.
- `NOT_STATE_CHANGES`: bookkeeping that changes no state of money, orders or people (a lock, a
  cache, a stored answer, the webhook inbox, a reconciliation run's own findings), with why.

A new writer is therefore a state change until someone says otherwise here, with a reason.
"""

from __future__ import annotations

STORED_FROM_STRIPE: dict[str, str] = {
    "app.services.disputes.repository:DisputeRepository.store_stripe_status": (
        "a chargeback's status at Stripe; `dispute.status_changed` when it changes"
    ),
    "app.services.onboarding.repository:StripeAccountRepository.store_read": (
        "a connected account as read; `seller_account.status_changed` when the seller's standing changes"
    ),
    "app.services.onboarding.repository:StripeAccountRepository.deauthorize": (
        "the platform's access withdrawn; `seller_account.status_changed` unless the seller was rejected already"
    ),
    "app.services.payouts.repository:PayoutRepository.store_read": (
        "a payout as read; `payout.status_changed` when its status changes"
    ),
    "app.services.payouts.service:Payouts._write_with_entries": (
        "a payout as read, and the entries its new status books; `payout.status_changed` with them "
        "(and, stored by its request, the Stripe call's completion and the seller's lock released)"
    ),
}

NOT_STATE_CHANGES: dict[str, str] = {
    # Locks and answers
    "app.services.disputes.repository:DisputeRepository.pass_gate": (
        "a seller's gate: orders a payout request and a dispute's opening, each audited with its count"
    ),
    "app.services.disputes.repository:DisputeRepository.gate_pass_write": (
        "a seller's gate: orders a payout request and a dispute's opening, each audited with its count"
    ),
    "app.services.jobs.repository:Lease.acquire": "a job's (or a seller's payout) lock: who may work now",
    "app.services.jobs.repository:Lease.release": "a job's (or a seller's payout) lock: who may work now",
    "app.services.jobs.repository:Lease.release_write": "a job's (or a seller's payout) lock: who may work now",
    "app.services.idempotency.repository:IdempotencyRepository.insert_in_flight": (
        "an idempotent request's stored answer: replays it, changes nothing"
    ),
    "app.services.idempotency.repository:IdempotencyRepository.take_over_lapsed": (
        "an idempotent request's stored answer: replays it, changes nothing"
    ),
    "app.services.idempotency.repository:IdempotencyRepository.renew": (
        "an idempotent request's stored answer: replays it, changes nothing"
    ),
    "app.services.idempotency.repository:IdempotencyRepository.complete": (
        "an idempotent request's stored answer: replays it, changes nothing"
    ),
    "app.services.idempotency.repository:IdempotencyRepository.release": (
        "an idempotent request's stored answer: replays it, changes nothing"
    ),
    # Calls to Stripe: what a call changes is audited by the domain acting on its answer
    "app.services.payment_operations.repository:PaymentOperationRepository.insert_pending": (
        "a Stripe call recorded before it is made, for its idempotency key"
    ),
    "app.services.payment_operations.repository:PaymentOperationRepository.pending_write": (
        "a Stripe call recorded before it is made, for its idempotency key"
    ),
    "app.services.payment_operations.repository:PaymentOperationRepository.count_attempt": (
        "a Stripe call's attempts"
    ),
    "app.services.payment_operations.repository:PaymentOperationRepository.complete": (
        "a Stripe call's answer, which the calling domain acts on (and audits)"
    ),
    "app.services.payment_operations.repository:PaymentOperationRepository.completion_write": (
        "a Stripe call's answer, which the calling domain acts on (and audits)"
    ),
    "app.services.payment_operations.operations:PaymentOperations.complete_in": (
        "a Stripe call's answer, sent with what the calling domain records of it (its audit record)"
    ),
    # Stripe's events: what a handler changes is audited by the handler
    "app.services.webhooks.repository:WebhookEventRepository.insert_new": "a Stripe event received",
    "app.services.webhooks.repository:WebhookEventRepository.claim": "a worker's claim on due events",
    "app.services.webhooks.repository:WebhookEventRepository.record_outcomes": (
        "processed or to retry; a dead letter is recorded alone, audited (`record_outcome`)"
    ),
    "app.services.webhooks.ordering:reserve_read": "a read ticket: orders reads of Stripe",
    "app.services.webhooks.ordering:store_read": (
        "Stripe's status of a refund and a transfer's reversed amount, shown as read; the money "
        "they move is booked and audited by the refund and the seller recovery"
    ),
    # References and caches
    "app.services.checkout.repository:OrderRepository.attach_payment_intent": (
        "the PaymentIntent its opening request created, named once; `order.opened` records the request"
    ),
    "app.services.payouts.repository:PayoutRepository.attach_stripe_id": (
        "Stripe's id of a payout recorded already, named once; its state is stored next, audited"
    ),
    "app.services.payouts.repository:PayoutRepository.remember_balance": "a cache of a seller's Stripe balance",
    "app.services.wallet.repository:TopupRepository._admit_and_create": (
        "a top-up without its PaymentIntent yet, which nothing can pay, and the call that makes "
        "it; it opens for payment, audited (`topup.opened`), when its PaymentIntent is recorded"
    ),
    "app.services.wallet.repository:TopupRepository._make_room": (
        "the buyer's list of openings, which counts top-ups against the limit"
    ),
    # Bookkeeping of runs whose effects are audited
    "app.services.migration.run_repository:RunRepository.add_batch": (
        "a migration batch's counters and checkpoint; its wallets are audited in the same transaction"
    ),
    "app.services.notifications.repository:NotificationRepository.claim_due": (
        "delivery of a notification to the notification URL"
    ),
    "app.services.notifications.repository:NotificationRepository.retry_at": (
        "delivery of a notification to the notification URL"
    ),
    "app.services.notifications.repository:NotificationRepository._settle": (
        "delivery of a notification to the notification URL"
    ),
    "app.services.reconciliation.repository:ReconciliationRepository.start_run": (
        "a reconciliation run's own record: a run changes no money and none of our records"
    ),
    "app.services.reconciliation.repository:ReconciliationRepository.finish_run": (
        "a reconciliation run's own record: a run changes no money and none of our records"
    ),
    "app.services.reconciliation.repository:ReconciliationRepository.record": (
        "the differences a run found, open until an admin resolves them (`discrepancy.resolved`)"
    ),
    "app.services.reconciliation.repository:ReconciliationRepository.found_again": (
        "a run found the drift standing again; its status is left as it is"
    ),
    "app.services.reconciliation.repository:ReconciliationRepository.mark": (
        "a run's marks of the Stripe objects it saw"
    ),
    "app.services.reconciliation.repository:ReconciliationRepository.clear_marks": (
        "a run's marks of the Stripe objects it saw"
    ),
}


def state_changes(writers: set[str]) -> set[str]:
    """The writers whose every write must be audited."""
    return writers - STORED_FROM_STRIPE.keys() - NOT_STATE_CHANGES.keys()
