"""`python -m migrations.migrate_legacy_wallets`: move every legacy wallet balance into the ledger.

    python -m migrations.migrate_legacy_wallets --dry-run        # validate and report, write nothing
    python -m migrations.migrate_legacy_wallets                  # migrate (a new run)
    python -m migrations.migrate_legacy_wallets --resume RUN_ID  # continue a run that stopped
    python -m migrations.migrate_legacy_wallets --verify RUN_ID  # its integrity checks, now
    python -m migrations.migrate_legacy_wallets --rollback RUN_ID

Options: `--batch-size N` (wallets per transaction, default 1000), `--only-users FILE` (one user id
per line; blank lines and `#` comments ignored), `--report PATH` (the JSON report: summary,
checks, every rejected wallet, every user a rollback left). A summary is printed; a progress bar
is drawn on stderr when it is a terminal.

Exit status: 0 when the sums meet and every check holds, 1 when one does not, 2 for bad options
or settings, 3 when another run or rollback holds the lease. How the service does it is in
`app/services/migration/runs.py`; the rehearsal and the rollout in `docs/runbooks/`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from app.cli import load_settings
from app.container import Services, running_services
from app.domain.audit import Actor
from app.errors import NotFound
from app.services.migration import (
    DEFAULT_BATCH_SIZE,
    MigrationInProgress,
    Rejection,
    RollbackReport,
    RunNotResumable,
    RunOptions,
    RunReport,
)

ACTOR = Actor.job("migrate_legacy_wallets")

cli = typer.Typer(add_completion=False)


class ProgressBar:
    """`[#####.....] 4,500/20,000 wallets 1,230/s` on stderr, redrawn in place; silent off a terminal."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self._label = label
        self._stream = stream
        self._started = time.perf_counter()
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self._stream.isatty():
            return
        width = 30
        filled = width * done // total if total else width
        rate = done / max(time.perf_counter() - self._started, 1e-9)
        self._stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} {self._label} {rate:,.0f}/s"
        )
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")


class RejectionSpool:
    """The rejected wallets of a dry run (which writes nothing to the database), kept in a
    temporary file beside the report so memory does not grow with them."""

    def __init__(self, report: Path | None) -> None:
        self.path = report.with_name(report.name + ".rejected.jsonl") if report else None
        self._file = self.path.open("w") if self.path else None

    def __call__(self, rejection: Rejection) -> None:
        if self._file is not None:
            self._file.write(json.dumps(rejection_document(rejection)) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    async def items(self) -> AsyncIterator[dict[str, Any]]:
        if self.path is None:
            return
        with self.path.open() as lines:
            for line in lines:
                yield json.loads(line)
        self.path.unlink()


def read_users(path: Path) -> frozenset[str]:
    users = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return frozenset(user for user in users if user)


def rejection_document(rejection: Rejection) -> dict[str, Any]:
    return {
        "legacy_id": rejection.legacy_id,
        "user_id": rejection.user_id,
        "raw_user_id": rejection.raw_user_id,
        "reason": rejection.reason.value,
        "detail": rejection.detail,
        "balance": rejection.balance,
        "currency": rejection.currency,
    }


def summary_document(report: RunReport) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "status": report.status,
        "ok": report.ok,
        "snapshot": report.snapshot.as_document(),
        "tally": report.tally.as_document(),
        "reconciliation": [
            {
                "currency": item.currency,
                "legacy": str(item.legacy),
                "migrated": str(item.migrated),
                "rejected": str(item.rejected),
                "already_migrated": str(item.already_migrated),
                "reconciles": item.holds,
            }
            for item in report.reconciliation
        ],
        "integrity": [check.as_document() for check in report.integrity],
    }


async def write_report(
    path: Path, summary: dict[str, Any], lists: dict[str, AsyncIterator[dict[str, Any]]]
) -> None:
    """The report as one JSON object, its long lists written an item at a time."""
    with path.open("w") as out:
        out.write('{\n"summary": ' + json.dumps(summary, indent=2))
        for name, items in lists.items():
            out.write(f',\n"{name}": [')
            separator = ""
            async for item in items:
                out.write(separator + "\n  " + json.dumps(item))
                separator = ","
            out.write("\n]")
        out.write("\n}\n")


async def each(items: Iterable[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for item in items:
        yield item


def print_summary(report: RunReport) -> None:
    title = f"run {report.run_id}" if report.run_id else "dry run (nothing written)"
    typer.echo(f"Legacy wallet migration, {title}: {report.status}")
    snapshot = report.snapshot
    totals = (
        ", ".join(f"{currency} {total}" for currency, total in sorted(snapshot.totals.items())) or "nothing"
    )
    typer.echo(f"  before: {snapshot.count:,} wallets, {totals}; checksum {snapshot.checksum.hex()[:16]}…")
    counts = report.tally.counts
    typer.echo(
        f"  migrated {counts['migrated']:,} ({counts['normalized']:,} with float noise normalized), "
        f"late credits migrated {counts['late_migrated']:,}, "
        f"already migrated {counts['already_migrated']:,}, rejected {counts['rejected']:,}"
    )
    reasons = sorted(
        (name.split(":", 1)[1], count) for name, count in counts.items() if name.startswith("rejected:")
    )
    if reasons:
        typer.echo("    rejected for " + ", ".join(f"{reason} {count:,}" for reason, count in reasons))
    for item in report.reconciliation:
        mark = "ok" if item.holds else "DOES NOT RECONCILE"
        typer.echo(
            f"  {item.currency}: legacy {item.legacy} = migrated {item.migrated} + rejected {item.rejected} "
            f"+ already migrated {item.already_migrated}: {mark}"
        )
    for check in report.integrity:
        typer.echo(f"  check {check.name}: {'ok' if check.ok else 'FAILED'}: {check.detail}")
        for problem in check.problems:
            typer.echo(f"    {problem}")


def print_rollback(report: RollbackReport) -> None:
    typer.echo(
        f"Rollback of {report.run_id}: {report.rolled_back:,} users rolled back, {len(report.left):,} left"
    )
    for user in report.left[:20]:
        typer.echo(
            f"  left {user.user_id}: {user.reason} (migrated {user.migrated}, balance now {user.balance})"
        )
    if len(report.left) > 20:
        typer.echo(f"  … and {len(report.left) - 20:,} more (in the report)")


@asynccontextmanager
async def services() -> AsyncIterator[Services]:
    async with running_services(load_settings()) as running:
        yield running


async def migrate(options: RunOptions, resume: str | None, report_path: Path | None) -> RunReport:
    bar, spool = ProgressBar("wallets"), RejectionSpool(report_path if options.dry_run else None)
    async with services() as running:
        runs = running.migration_runs
        try:
            if resume:
                report = await runs.resume(resume, ACTOR, progress=bar)
            else:
                report = await runs.start(options, ACTOR, progress=bar, on_rejection=spool)
        finally:
            bar.close()
            spool.close()
        if report_path:
            rejected = (
                spool.items() if report.run_id is None else _rejections(runs.all_rejections(report.run_id))
            )
            await write_report(report_path, summary_document(report), {"rejected": rejected})
    return report


async def _rejections(rejections: AsyncIterator[Rejection]) -> AsyncIterator[dict[str, Any]]:
    async for rejection in rejections:
        yield rejection_document(rejection)


async def verify(run_id: str, report_path: Path | None) -> RunReport:
    async with services() as running:
        report = await running.migration_runs.verify(run_id)
    if report_path:
        await write_report(report_path, summary_document(report), {})
    return report


async def rollback(run_id: str, report_path: Path | None) -> RollbackReport:
    bar = ProgressBar("users")
    async with services() as running:
        try:
            report = await running.rollbacks.rollback(run_id, ACTOR, progress=bar)
        finally:
            bar.close()
    if report_path:
        left = [
            {
                "user_id": user.user_id,
                "reason": user.reason.value,
                "migrated": user.migrated,
                "balance": user.balance,
            }
            for user in report.left
        ]
        summary = {"run_id": run_id, "rolled_back": report.rolled_back, "left": len(left)}
        await write_report(report_path, summary, {"left": each(left)})
    return report


@cli.command()
def main(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report; write nothing")] = False,
    verify_run: Annotated[
        str | None, typer.Option("--verify", metavar="RUN_ID", help="Check a run now")
    ] = None,
    rollback_run: Annotated[
        str | None, typer.Option("--rollback", metavar="RUN_ID", help="Undo a run for untouched users")
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", metavar="RUN_ID", help="Continue a stopped run")
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Wallets per transaction")
    ] = DEFAULT_BATCH_SIZE,
    only_users: Annotated[
        Path | None, typer.Option(help="Migrate only these users (one id per line)")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here")] = None,
) -> None:
    """Migrate the legacy wallets into the ledger (see the module's documentation)."""
    chosen = {"--dry-run": dry_run, "--verify": verify_run, "--rollback": rollback_run, "--resume": resume}
    modes = [name for name, given in chosen.items() if given]
    if len(modes) > 1:
        typer.echo(f"choose one of {', '.join(modes)}", err=True)
        raise typer.Exit(code=2)
    try:
        if rollback_run:
            print_rollback(asyncio.run(rollback(rollback_run, report)))
            return
        if verify_run:
            outcome = asyncio.run(verify(verify_run, report))
        else:
            users = read_users(only_users) if only_users else None
            options = RunOptions(batch_size=batch_size, only_users=users, dry_run=dry_run)
            outcome = asyncio.run(migrate(options, resume, report))
    except MigrationInProgress as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(code=3) from exc
    except (RunNotResumable, NotFound) as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(code=2) from exc
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc
    print_summary(outcome)
    if not outcome.ok:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    cli()
