"""The summary table a run prints."""

from __future__ import annotations

from sim.runner import RunResult


def summary(result: RunResult) -> str:
    lines = [f"seed {result.seed}: {result.ops} operations in {result.seconds:.1f} s"]
    lines.append("operations:                                  count   seconds")
    lines.extend(
        f"  {name:<40} {count:>7} {result.seconds_by_kind[name]:>9.1f}"
        for name, count in sorted(result.kinds.items())
    )
    lines.append(_table("Stripe faults injected", result.faults))
    lines.append(_table("webhook deliveries", result.deliveries))
    lines.append(_table("invariants checked", result.checked))
    lines.append(f"money moved: {result.money_moved} minor units (sum of ledger postings in)")
    return "\n".join(lines)


def _table(title: str, counts: dict[str, int]) -> str:
    rows = [f"  {name:<40} {count:>7}" for name, count in sorted(counts.items())]
    return "\n".join([f"{title}:", *(rows or ["  (none)"])])


def failure(result: RunResult) -> str:
    return "\n".join(
        [
            f"FAILED: seed {result.seed}, after {result.failed_at} of {result.ops} operations",
            f"first invariant broken: {result.failure}",
            f"replay: python -m sim --seed {result.seed} --ops {result.failed_at}",
            "operations:",
            *result.steps,
        ]
    )
