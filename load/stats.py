"""Requests by route: how many, how fast, the statuses answered, and latency percentiles."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class RouteStats:
    seconds: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


@dataclass
class Stats:
    routes: dict[str, RouteStats] = field(default_factory=lambda: defaultdict(RouteStats))

    def add(self, route: str, status: int, seconds: float) -> None:
        self.routes[route].seconds.append(seconds)
        self.routes[route].statuses[status] += 1

    @property
    def requests(self) -> int:
        return sum(len(route.seconds) for route in self.routes.values())

    def table(self, elapsed: float) -> str:
        header = (
            f"{'route':<44} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses"
        )
        lines = [header, "-" * len(header)]
        everything: list[float] = []
        for name in sorted(self.routes):
            route = self.routes[name]
            everything += route.seconds
            lines.append(_row(name, sorted(route.seconds), elapsed, route.statuses))
        lines.append(_row("all", sorted(everything), elapsed, Counter()))
        return "\n".join(lines)


def _row(name: str, seconds: list[float], elapsed: float, statuses: Counter[int]) -> str:
    p50, p95, p99 = (1000 * percentile(seconds, share) for share in (0.5, 0.95, 0.99))
    answered = " ".join(f"{status}x{count}" for status, count in sorted(statuses.items()))
    return (
        f"{name:<44} {len(seconds):>8} {len(seconds) / elapsed:>7.1f} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f}  "
        f"{answered}"
    )
