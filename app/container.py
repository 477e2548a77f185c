"""The composition root: every service of a process, its webhook handlers and its periodic jobs.

The HTTP service (`app.main`), every CLI command (`app.cli`) and the standalone webhook worker
start through `running_services`, so they cannot drift apart. Nothing under `app.services`
imports this module: domains expose their services and handlers, and this is the one place that
wires them together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from pymongo import IndexModel

from app import db
from app.adapters.legacy_wallet_bridge import LegacyWalletBridge
from app.adapters.marketplace_users import MarketplaceUsers
from app.adapters.notification_sender import NotificationSender
from app.adapters.payment_provider import PaymentProvider
from app.adapters.stripe_adapter import StripeAdapter
from app.adapters.stripe_webhooks import StripeWebhookSignatures
from app.config import Settings
from app.db import Database, connect, require_transaction_support
from app.domain.fees import FeeSchedule
from app.domain.flags import Flag, FlagRule
from app.domain.payment_operations import OperationKind
from app.domain.webhooks import RetryPolicy
from app.services import (
    audit,
    checkout,
    disputes,
    idempotency,
    ledger,
    migration,
    notifications,
    onboarding,
    payment_operations,
    payouts,
    reconciliation,
    refunds,
    wallet,
    webhooks,
)
from app.services.audit import AuditLog, AuditSealer, AuditVerifier
from app.services.catalog import Catalog
from app.services.checkout import (
    Checkout,
    CheckoutWebhookHandlers,
    EscrowReleases,
    Escrows,
    SellerTransfers,
    run_escrow_auto_release,
    run_order_expiry,
    run_transfer_retries,
)
from app.services.disputes import (
    Chargebacks,
    ChargebackWebhookHandlers,
    DisputeHolds,
    Disputes,
    EvidenceLimits,
    EvidenceStore,
    SellerDebts,
    SellerRecovery,
    run_recoveries,
)
from app.services.flags import FeatureFlags
from app.services.idempotency import IdempotencyStore
from app.services.jobs import PeriodicJob, runner_id
from app.services.ledger import Ledger
from app.services.migration import LegacyMigration, MigrationRuns, Rollbacks
from app.services.monitoring import FigureSources, OperationsFigures, PaymentIntentOutcomeHandlers
from app.services.notifications import Notifications, run_notification_delivery
from app.services.onboarding import Onboarding, StripeAccounts, StripeAccountWebhookHandlers
from app.services.payment_operations import PaymentOperations, run_operations_janitor
from app.services.payouts import Payouts, PayoutWebhookHandlers
from app.services.reconciliation import (
    BalanceDrifts,
    BalanceTransactionMatcher,
    CheckoutMatcher,
    DisputeMatcher,
    LegacyReserveMatcher,
    Matcher,
    PayoutMatcher,
    PlatformBalanceMatcher,
    Reconciliation,
    ReconciliationRepository,
    ReconciliationReview,
    RefundMatcher,
    StripeFeeMatcher,
    TopupMatcher,
    TransferMatcher,
    TransferReversalMatcher,
    reconcile_due_day,
)
from app.services.refunds import Refunds, RefundWebhookHandlers
from app.services.stripe_fees import StripeFees, StripeFeeWebhookHandlers
from app.services.wallet import (
    TopupExpiry,
    Topups,
    TopupWebhookHandlers,
    WalletFunds,
    WalletView,
    run_topup_expiry,
)
from app.services.webhooks import HandlerRegistry, WebhookEvents, WebhookInbox, WebhookProcessor

# Each repository's indexes, keyed by collection; a new domain adds its own here.
INDEXES: Sequence[Mapping[str, Sequence[IndexModel]]] = (
    audit.INDEXES,
    checkout.INDEXES,
    disputes.INDEXES,
    ledger.INDEXES,
    idempotency.INDEXES,
    migration.INDEXES,
    notifications.INDEXES,
    onboarding.INDEXES,
    payment_operations.INDEXES,
    refunds.INDEXES,
    payouts.INDEXES,
    reconciliation.INDEXES,
    wallet.INDEXES,
    webhooks.INDEXES,
)


@dataclass(frozen=True)
class Services:
    settings: Settings
    database: Database
    provider: PaymentProvider
    audit_log: AuditLog
    audit_sealer: AuditSealer
    audit_verifier: AuditVerifier
    ledger: Ledger
    idempotency: IdempotencyStore
    payment_operations: PaymentOperations
    migration: LegacyMigration
    migration_runs: MigrationRuns
    rollbacks: Rollbacks
    feature_flags: FeatureFlags
    stripe_accounts: StripeAccounts
    onboarding: Onboarding
    wallet_funds: WalletFunds
    topups: Topups
    topup_expiry: TopupExpiry
    wallet_view: WalletView
    catalog: Catalog
    checkout: Checkout
    escrow_releases: EscrowReleases
    seller_transfers: SellerTransfers
    seller_debts: SellerDebts
    dispute_holds: DisputeHolds
    escrows: Escrows
    refunds: Refunds
    notifications: Notifications
    evidence: EvidenceStore
    disputes: Disputes
    chargebacks: Chargebacks
    seller_recovery: SellerRecovery
    payouts: Payouts
    webhook_inbox: WebhookInbox
    webhook_events: WebhookEvents
    webhook_processor: WebhookProcessor
    reconciliation: Reconciliation
    reconciliation_review: ReconciliationReview
    operations_figures: OperationsFigures


def build_services(
    database: Database,
    settings: Settings,
    provider: PaymentProvider,
    notification_sender: NotificationSender | None = None,
) -> Services:
    audit_log = AuditLog(database)
    ledger = Ledger(database)
    operations = PaymentOperations(database, provider, audit_log)
    bridge = LegacyWalletBridge(database, settings)
    migration = LegacyMigration(
        database,
        ledger,
        bridge,
        audit_log,
        platform_currency=settings.platform_currency,
        recheck=timedelta(seconds=settings.legacy_wallet_recheck_seconds),
    )
    migration_runs = MigrationRuns(
        database, ledger, bridge, audit_log, platform_currency=settings.platform_currency, owner=runner_id()
    )
    feature_flags = FeatureFlags(
        database, audit_log, flag_defaults(settings), cache_seconds=settings.feature_flags_cache_seconds
    )
    # The features acting on a seller's ability to receive transfers listen to it here
    # (`stripe_accounts.on_transfers_changed`).
    stripe_accounts = StripeAccounts(database, provider, audit_log)
    topups = Topups(database, ledger, operations, audit_log, settings)
    operations.on_redriven(OperationKind.TOPUP, topups.learn_from_operation)
    wallet_funds = WalletFunds(database, ledger, migration)
    catalog = Catalog(database, settings)
    orders = Checkout(database, ledger, catalog, wallet_funds, operations, provider, audit_log, settings)
    seller_transfers = SellerTransfers(database, ledger, operations, provider, audit_log, stripe_accounts)
    stripe_accounts.on_transfers_changed(
        lambda signal: seller_transfers.seller_receiving_changed(
            signal.seller_id, signal.can_receive_transfers
        )
    )
    seller_debts = SellerDebts(database, audit_log)
    releases = EscrowReleases(
        database,
        ledger,
        audit_log,
        seller_transfers,
        seller_debts,
        timedelta(days=settings.escrow_auto_release_days),
    )
    fees = FeeSchedule(settings.platform_fee_bps, settings.platform_fee_fixed)
    escrows = Escrows(database, audit_log, fees)
    refunds_service = Refunds(database, ledger, escrows, wallet_funds, operations, provider, audit_log)
    operations.on_redriven(OperationKind.REFUND, refunds_service.learn_from_operation)
    notifications_service = Notifications(
        database,
        notification_sender,
        audit_log,
        max_attempts=settings.notification_max_attempts,
        retry_base=timedelta(seconds=settings.notification_retry_base_seconds),
        retry_cap=timedelta(seconds=settings.notification_retry_max_seconds),
    )
    evidence = EvidenceStore(
        database,
        audit_log,
        EvidenceLimits(settings.evidence_max_bytes, settings.evidence_content_type_set),
    )
    seller_recovery = SellerRecovery(
        database, ledger, escrows, seller_transfers, operations, seller_debts, audit_log
    )
    disputes_service = Disputes(
        database,
        escrows,
        releases,
        refunds_service,
        seller_recovery,
        notifications_service,
        audit_log,
        timedelta(days=settings.dispute_window_days),
    )
    chargebacks = Chargebacks(
        database, ledger, escrows, seller_recovery, operations, provider, notifications_service, audit_log
    )
    dispute_holds = DisputeHolds(database, seller_debts)
    seller_payouts = Payouts(
        database,
        ledger,
        operations,
        provider,
        audit_log,
        stripe_accounts,
        dispute_holds,
        orders,
        currency=settings.platform_currency,
        minimum=settings.payout_min_amount,
        lock_for=timedelta(seconds=settings.payout_lock_seconds),
        balance_cache_for=timedelta(seconds=settings.seller_balance_cache_seconds),
        stripe_balance_timeout=timedelta(seconds=settings.seller_balance_stripe_timeout_seconds),
    )
    registry = webhook_registry(
        stripe_accounts,
        topups,
        StripeFees(ledger, provider, audit_log),
        CheckoutWebhookHandlers(orders, seller_transfers),
        RefundWebhookHandlers(refunds_service),
        ChargebackWebhookHandlers(chargebacks),
        PayoutWebhookHandlers(seller_payouts),
    )
    reconciliation_records = ReconciliationRepository(database)
    reconciliation_review = ReconciliationReview(database, reconciliation_records, ledger, audit_log)
    webhook_events = WebhookEvents(database)
    return Services(
        settings=settings,
        database=database,
        provider=provider,
        audit_log=audit_log,
        audit_sealer=AuditSealer(database, owner=runner_id()),
        audit_verifier=AuditVerifier(database),
        ledger=ledger,
        idempotency=IdempotencyStore(database, timedelta(hours=settings.idempotency_key_ttl_hours)),
        payment_operations=operations,
        migration=migration,
        migration_runs=migration_runs,
        rollbacks=Rollbacks(database, ledger, bridge, audit_log, migration_runs),
        feature_flags=feature_flags,
        stripe_accounts=stripe_accounts,
        onboarding=Onboarding(
            stripe_accounts, operations, provider, MarketplaceUsers(database, settings), settings
        ),
        wallet_funds=wallet_funds,
        topups=topups,
        topup_expiry=TopupExpiry(database, topups, operations),
        wallet_view=WalletView(ledger, migration, topups, feature_flags, settings.platform_currency),
        catalog=catalog,
        checkout=orders,
        escrow_releases=releases,
        seller_transfers=seller_transfers,
        seller_debts=seller_debts,
        dispute_holds=dispute_holds,
        escrows=escrows,
        refunds=refunds_service,
        notifications=notifications_service,
        evidence=evidence,
        disputes=disputes_service,
        chargebacks=chargebacks,
        seller_recovery=seller_recovery,
        payouts=seller_payouts,
        webhook_inbox=WebhookInbox(
            database, StripeWebhookSignatures.from_settings(settings), settings.stripe_livemode
        ),
        webhook_events=webhook_events,
        webhook_processor=WebhookProcessor(
            database, registry, webhook_retry_policy(settings), audit_log, worker_id=runner_id()
        ),
        reconciliation=Reconciliation(
            reconciliation_records,
            BalanceDrifts(database, reconciliation_records, audit_log),
            reconciliation_matchers(
                provider,
                ledger,
                transfers=seller_transfers,
                refunds=refunds_service,
                accounts=stripe_accounts,
                payouts=seller_payouts,
            ),
        ),
        reconciliation_review=reconciliation_review,
        operations_figures=OperationsFigures(
            FigureSources(
                ledger=ledger,
                webhook_events=webhook_events,
                topups=topups,
                reconciliation=reconciliation_review,
                disputes=disputes_service,
                transfers=seller_transfers,
                refunds=refunds_service,
                migration_runs=migration_runs,
            ),
            settings.platform_currency,
        ),
    )


def reconciliation_matchers(
    provider: PaymentProvider,
    ledger: Ledger,
    *,
    transfers: SellerTransfers,
    refunds: Refunds,
    accounts: StripeAccounts,
    payouts: Payouts,
) -> list[Matcher]:
    """The checks of a reconciliation run, in order; a domain adds its matcher to `checks`.

    The balance transaction check comes after them (it accounts for the types they claim), and
    the platform balance last (only the drift their differences do not explain is reported)."""
    checks: list[Matcher] = [
        TopupMatcher(provider, ledger),
        CheckoutMatcher(provider, ledger),
        StripeFeeMatcher(provider, ledger),
        TransferMatcher(provider, ledger, transfers),
        TransferReversalMatcher(provider, ledger),
        RefundMatcher(provider, ledger, refunds),
        DisputeMatcher(provider, ledger),
        PayoutMatcher(provider, ledger, accounts, payouts),
        LegacyReserveMatcher(ledger),
    ]
    accounted = frozenset().union(*(check.balance_transaction_types for check in checks))
    return [*checks, BalanceTransactionMatcher(provider, accounted), PlatformBalanceMatcher(provider, ledger)]


def flag_defaults(settings: Settings) -> dict[Flag, FlagRule]:
    """Each flag's rule while it has none stored: on, for the settings' share of users."""
    shares = {
        Flag.WALLET_V2: settings.feature_wallet_v2_percent,
        Flag.CHECKOUT_V2: settings.feature_checkout_v2_percent,
        Flag.SELLER_PAYOUTS: settings.feature_seller_payouts_percent,
        Flag.LEGACY_MIGRATION: settings.feature_legacy_migration_percent,
    }
    return {flag: FlagRule(enabled=True, rollout_percent=percent) for flag, percent in shares.items()}


def webhook_registry(
    stripe_accounts: StripeAccounts,
    topups: Topups,
    stripe_fees: StripeFees,
    checkout_handlers: CheckoutWebhookHandlers,
    refund_handlers: RefundWebhookHandlers,
    chargeback_handlers: ChargebackWebhookHandlers,
    payout_handlers: PayoutWebhookHandlers,
) -> HandlerRegistry:
    """Every domain's webhook handlers, bound to the services they use."""
    registry = HandlerRegistry()
    registry.register_all(StripeAccountWebhookHandlers(stripe_accounts).by_event_type())
    registry.register_all(TopupWebhookHandlers(topups).by_event_type())
    registry.register_all(StripeFeeWebhookHandlers(stripe_fees).by_event_type())
    registry.register_all(checkout_handlers.by_event_type())
    registry.register_all(refund_handlers.by_event_type())
    registry.register_all(chargeback_handlers.by_event_type())
    registry.register_all(payout_handlers.by_event_type())
    registry.register_all(PaymentIntentOutcomeHandlers().by_event_type())
    return registry


def webhook_retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.webhook_max_attempts,
        base_delay=timedelta(seconds=settings.webhook_retry_base_seconds),
        max_delay=timedelta(seconds=settings.webhook_retry_max_seconds),
        claim_ttl=timedelta(seconds=settings.webhook_claim_seconds),
    )


def in_service_jobs(services: Services) -> list[PeriodicJob]:
    """The jobs the HTTP service runs beside its requests (when JOBS_ENABLED)."""
    settings = services.settings
    stale_after = timedelta(seconds=settings.payment_operations_stale_after_seconds)
    return [
        PeriodicJob(
            "payment_operations_janitor",
            settings.payment_operations_janitor_interval_seconds,
            lambda: run_operations_janitor(services.database, services.payment_operations, stale_after),
        ),
        PeriodicJob(
            "topup_expiry",
            settings.topup_expiry_interval_seconds,
            lambda: run_topup_expiry(services.database, services.topup_expiry, topup_expiry_age(settings)),
        ),
        PeriodicJob("audit_sealer", settings.audit_seal_interval_seconds, services.audit_sealer.seal_pending),
        PeriodicJob(
            "order_expiry",
            settings.checkout_expiry_interval_seconds,
            lambda: run_order_expiry(services.database, services.checkout, order_expiry_age(settings)),
        ),
        PeriodicJob(
            "escrow_auto_release",
            settings.escrow_release_interval_seconds,
            lambda: run_escrow_auto_release(services.database, services.escrow_releases),
        ),
        PeriodicJob(
            "transfer_pending",
            settings.transfer_retry_interval_seconds,
            lambda: run_transfer_retries(
                services.database, services.seller_transfers, transfer_stuck_age(settings)
            ),
        ),
        PeriodicJob(
            "chargeback_recoveries",
            settings.chargeback_recovery_interval_seconds,
            lambda: run_recoveries(services.database, services.seller_recovery, recovery_retry_age(settings)),
        ),
        PeriodicJob(
            "notification_delivery",
            settings.notification_interval_seconds,
            lambda: run_notification_delivery(services.database, services.notifications),
        ),
        PeriodicJob(
            "reconciliation",
            settings.reconciliation_interval_seconds,
            lambda: reconcile_due_day(
                services.database, services.reconciliation, reconciliation_delay(settings)
            ),
        ),
    ]


def reconciliation_delay(settings: Settings) -> timedelta:
    return timedelta(hours=settings.reconciliation_delay_hours)


def topup_expiry_age(settings: Settings) -> timedelta:
    return timedelta(hours=settings.topup_expire_after_hours)


def order_expiry_age(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.checkout_expire_after_minutes)


def recovery_retry_age(settings: Settings) -> timedelta:
    """A chargeback recovery left pending is tried again once untouched for one job interval."""
    return timedelta(seconds=settings.chargeback_recovery_interval_seconds)


def transfer_stuck_age(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.transfer_stuck_after_seconds)


async def ensure_indexes(database: Database) -> None:
    await db.create_indexes(
        database, {name: models for indexes in INDEXES for name, models in indexes.items()}
    )


@asynccontextmanager
async def running_services(settings: Settings) -> AsyncIterator[Services]:
    """A process's services with their clients: checked, indexed, and closed on the way out."""
    database = connect(settings.mongodb_uri, settings.mongodb_database)
    provider = StripeAdapter(settings)
    sender = notification_sender(settings)
    try:
        await require_transaction_support(database)
        await ensure_indexes(database)
        await LegacyWalletBridge(database, settings).ensure_user_index(create=settings.legacy_wallet_index)
        await MarketplaceUsers(database, settings).ensure_id_index()
        services = build_services(database, settings, provider, sender)
        if settings.catalog_index:
            await services.catalog.ensure_indexes()
        yield services
    finally:
        if sender is not None:
            await sender.close()
        await provider.close()
        await database.close()


def notification_sender(settings: Settings) -> NotificationSender | None:
    """The sender of admin notifications to `NOTIFICATION_URL`, when one is configured."""
    if settings.notification_url is None or settings.notification_secret is None:
        return None
    return NotificationSender(
        settings.notification_url,
        settings.notification_secret.get_secret_value(),
        settings.notification_timeout_seconds,
    )
