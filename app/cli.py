"""Operator commands: `python -m app …` or the `payments` console script."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from app.auth import Role, mint_token
from app.config import AuthSettings, Settings
from app.container import (
    order_expiry_age,
    recovery_retry_age,
    running_services,
    topup_expiry_age,
    transfer_stuck_age,
)
from app.domain.reconciliation import Window
from app.observability import configure_logging
from app.services.audit import ChainReport
from app.services.checkout import run_escrow_auto_release, run_order_expiry, run_transfer_retries
from app.services.disputes import run_recoveries
from app.services.notifications import run_notification_delivery
from app.services.payment_operations import run_operations_janitor
from app.services.reconciliation import (
    LeaseHeldElsewhere,
    ReconciliationFailed,
    ReconciliationRun,
    reconcile_window,
)
from app.services.wallet import run_topup_expiry
from app.services.webhooks import EventOutcome, WebhookWorker, drain

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Marketplace payments service")
audit = typer.Typer(no_args_is_help=True, help="The audit log: prove its hash chain intact, seal new records")
cli.add_typer(audit, name="audit")


def _load(settings_class: type[AuthSettings]) -> AuthSettings:
    try:
        return settings_class(**{})
    except ValidationError as exc:
        problems = "\n".join(
            f"  {'.'.join(str(p) for p in e['loc']).upper() or 'SETTINGS'}: {e['msg']}" for e in exc.errors()
        )
        typer.echo(f"Invalid configuration:\n{problems}", err=True)
        raise typer.Exit(code=2) from exc


def load_settings() -> Settings:
    settings = _load(Settings)
    assert isinstance(settings, Settings)
    configure_logging(settings.log_level)
    return settings


@cli.command()
def token(
    user: Annotated[str, typer.Option(help="The user id (the token's subject)")],
    role: Annotated[list[Role], typer.Option(help="A role; repeat for several")],
    private_key_file: Annotated[Path | None, typer.Option(help="PEM private key, for RS256")] = None,
) -> None:
    """Print a token signed with the configured key, alone on the last line."""
    settings = _load(AuthSettings)
    private_key = private_key_file.read_text() if private_key_file else None
    typer.echo(mint_token(settings, user, role, private_key=private_key))


@cli.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Run the HTTP service with uvicorn."""
    import uvicorn

    load_settings()  # fail fast, with a readable message, before uvicorn starts
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        log_config=None,
        access_log=False,  # the service logs every request itself, as JSON with its request id
    )


@cli.command()
def openapi(output: Annotated[Path, typer.Option()] = Path("openapi.json")) -> None:
    """Write the OpenAPI document generated from the application."""
    from app.main import openapi_document

    output.write_text(json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n")
    typer.echo(f"wrote {output}")


@cli.command("process-webhooks")
def process_webhooks(
    once: Annotated[bool, typer.Option("--once", help="Process the due events, then exit")] = False,
) -> None:
    """Process stored Stripe events; any number of these may run at once."""
    outcomes = asyncio.run(_process_webhooks(load_settings(), once=once))
    if once:
        counts = Counter(outcome.outcome.value for outcome in outcomes)
        summary = ", ".join(f"{name}={count}" for name, count in sorted(counts.items()))
        typer.echo(f"{len(outcomes)} webhook events handled" + (f": {summary}" if summary else ""))


async def _process_webhooks(settings: Settings, *, once: bool) -> list[EventOutcome]:
    """Drain the due events once, or work until SIGINT/SIGTERM."""
    async with running_services(settings) as services:
        if once:
            return await drain(services.webhook_processor)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await WebhookWorker(services.webhook_processor, settings.webhook_poll_seconds).run(stop)
        return []


@cli.command("reconcile-operations")
def reconcile_operations(
    older_than_minutes: Annotated[int, typer.Option(min=0, help="Re-drive operations pending this long")] = 5,
) -> None:
    """Learn the outcome of Stripe calls left pending; one runner at a time (job lease)."""

    async def one_pass(settings: Settings) -> Counter[str] | None:
        async with running_services(settings) as services:
            return await run_operations_janitor(
                services.database, services.payment_operations, timedelta(minutes=older_than_minutes)
            )

    outcomes = asyncio.run(one_pass(load_settings()))
    if outcomes is None:
        typer.echo("another runner holds the reconcile-operations lease; nothing done")
        return
    summary = ", ".join(f"{status}={count}" for status, count in sorted(outcomes.items()))
    typer.echo(f"{outcomes.total()} payment operations re-driven" + (f": {summary}" if summary else ""))


@cli.command("expire-topups")
def expire_topups(
    older_than_hours: Annotated[
        float | None, typer.Option(min=0, help="Expire top-ups unpaid this long (TOPUP_EXPIRE_AFTER_HOURS)")
    ] = None,
) -> None:
    """Cancel top-ups left unpaid, and their PaymentIntents; one runner at a time (job lease)."""

    async def one_pass(settings: Settings) -> Counter[str] | None:
        age = (
            timedelta(hours=older_than_hours) if older_than_hours is not None else topup_expiry_age(settings)
        )
        async with running_services(settings) as services:
            return await run_topup_expiry(services.database, services.topup_expiry, age)

    outcomes = asyncio.run(one_pass(load_settings()))
    if outcomes is None:
        typer.echo("another runner holds the expire-topups lease; nothing done")
        return
    summary = ", ".join(f"{outcome}={count}" for outcome, count in sorted(outcomes.items()))
    typer.echo(f"{outcomes.total()} unpaid top-ups handled" + (f": {summary}" if summary else ""))


WINDOW_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


@cli.command("reconcile")
def reconcile(
    window_start: Annotated[
        datetime,
        typer.Option(
            "--from", formats=WINDOW_FORMATS, help="Start of the window (UTC unless an offset is given)"
        ),
    ],
    window_end: Annotated[
        datetime, typer.Option("--to", formats=WINDOW_FORMATS, help="End of the window, excluded")
    ],
) -> None:
    """Compare Stripe's records with the books over a window; record each difference once as a
    discrepancy. Reads Stripe and the ledger, changes neither. One runner at a time (the
    reconciliation lease, shared with the daily run); exit 1 when the run fails."""
    try:
        window = Window(_utc(window_start), _utc(window_end))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    async def run(settings: Settings) -> ReconciliationRun:
        async with running_services(settings) as services:
            return await reconcile_window(services.database, services.reconciliation, window)

    try:
        finished = asyncio.run(run(load_settings()))
    except LeaseHeldElsewhere:
        typer.echo("another runner holds the reconciliation lease; nothing done")
        return
    except ReconciliationFailed as failed:
        _echo_run(failed.run)
        raise typer.Exit(code=1) from failed
    _echo_run(finished)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _echo_run(run: ReconciliationRun) -> None:
    typer.echo(
        f"reconciliation {run.id} {run.status}: {run.window.start:%Y-%m-%dT%H:%M:%SZ} to "
        f"{run.window.end:%Y-%m-%dT%H:%M:%SZ} in {run.duration_ms} ms"
    )
    for name, counts in run.counts.items():
        typer.echo(
            f"  {name}: {counts.stripe_objects} Stripe objects, {counts.our_records} of our records, "
            f"{counts.matched} matched, {counts.differences} differences"
        )
    typer.echo(
        f"{run.new_discrepancies} new discrepancies, {run.known_discrepancies} already recorded, "
        f"{run.superseded_discrepancies} drifts superseded"
    )
    if run.error:
        typer.echo(f"error: {run.error}", err=True)


@cli.command("expire-orders")
def expire_orders() -> None:
    """Cancel orders left unpaid (CHECKOUT_EXPIRE_AFTER_MINUTES), give their wallet parts back;
    one runner at a time (job lease)."""

    async def one_pass(settings: Settings) -> Counter[str] | None:
        async with running_services(settings) as services:
            return await run_order_expiry(services.database, services.checkout, order_expiry_age(settings))

    _report(asyncio.run(one_pass(load_settings())), "expire-orders", "unpaid orders handled")


@cli.command("release-due-escrows")
def release_due_escrows() -> None:
    """Release escrows held longer than ESCROW_AUTO_RELEASE_DAYS and pay their sellers; one
    runner at a time (job lease)."""

    async def one_pass(settings: Settings) -> Counter[str] | None:
        async with running_services(settings) as services:
            return await run_escrow_auto_release(services.database, services.escrow_releases)

    _report(asyncio.run(one_pass(load_settings())), "release-due-escrows", "escrows released")


@cli.command("transfer-pending")
def transfer_pending() -> None:
    """Send the transfers to sellers that wait (platform balance short, seller now able to
    receive, answer lost); one runner at a time (job lease)."""

    async def one_pass(settings: Settings) -> Counter[str] | None:
        async with running_services(settings) as services:
            return await run_transfer_retries(
                services.database, services.seller_transfers, transfer_stuck_age(settings)
            )

    _report(asyncio.run(one_pass(load_settings())), "transfer-pending", "transfers to sellers handled")


@cli.command("recover-chargebacks")
def recover_chargebacks() -> None:
    """Try again what sellers' recoveries left unfinished: transfer reversals (answer lost,
    refused) and repayments of chargebacks won (refused, or the seller unable to receive); one
    runner at a time (job lease)."""

    async def one_pass(settings: Settings) -> Counter[str] | None:
        async with running_services(settings) as services:
            return await run_recoveries(
                services.database, services.seller_recovery, recovery_retry_age(settings)
            )

    _report(asyncio.run(one_pass(load_settings())), "recover-chargebacks", "chargeback recoveries handled")


@cli.command("deliver-notifications")
def deliver_notifications() -> None:
    """POST the admin notifications due to NOTIFICATION_URL; one runner at a time (job lease)."""

    async def one_pass(settings: Settings) -> Counter[str] | None:
        async with running_services(settings) as services:
            return await run_notification_delivery(services.database, services.notifications)

    _report(asyncio.run(one_pass(load_settings())), "deliver-notifications", "notifications handled")


def _report(outcomes: Counter[str] | None, job: str, what: str) -> None:
    if outcomes is None:
        typer.echo(f"another runner holds the {job} lease; nothing done")
        return
    summary = ", ".join(f"{outcome}={count}" for outcome, count in sorted(outcomes.items()))
    typer.echo(f"{outcomes.total()} {what}" + (f": {summary}" if summary else ""))


@audit.command("verify")
def audit_verify() -> None:
    """Walk the audit chain from record 1; name the first broken record and exit 1 if there is one."""

    async def walk(settings: Settings) -> ChainReport:
        async with running_services(settings) as services:
            return await services.audit_verifier.verify()

    report = asyncio.run(walk(load_settings()))
    if report.first_break is not None:
        broken = report.first_break
        record = f" ({broken.record_id})" if broken.record_id else ""
        typer.echo(f"audit chain broken at record {broken.seq}{record}: {broken.reason}", err=True)
        typer.echo(f"{report.sealed} records before it verified", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"audit chain intact: {report.sealed} records verified")
    if report.unsealed and report.oldest_unsealed_at is not None:
        oldest = f"{report.oldest_unsealed_at:%Y-%m-%dT%H:%M:%SZ}"
        typer.echo(
            f"{report.unsealed} records not sealed yet, the oldest from {oldest}; "
            "the sealer chains them (`python -m app audit seal`)"
        )


@audit.command("seal")
def audit_seal() -> None:
    """Chain the audit records not sealed yet; one sealer at a time (the audit_sealer lease)."""

    async def seal(settings: Settings) -> int | None:
        async with running_services(settings) as services:
            return await services.audit_sealer.seal_pending()

    sealed = asyncio.run(seal(load_settings()))
    if sealed is None:
        typer.echo("another sealer holds the audit_sealer lease; nothing done")
        return
    typer.echo(f"{sealed} audit records sealed")


@cli.command("seed-demo")
def seed_demo() -> None:
    """Insert the local default's demo data (catalog, buyer, seller, admin) once."""
    from app.demo import seed

    asyncio.run(seed(load_settings()))


def main() -> None:
    cli()
