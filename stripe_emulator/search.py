"""Stripe's search query language, the simple part: `field:'value'` clauses joined by AND.

Supported: `metadata['key']:'value'` and top-level fields such as `status:'succeeded'`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stripe_emulator import errors
from stripe_emulator.objects import JsonObject

_CLAUSE = re.compile(
    r"""\s*(?:metadata\[(?P<q>['"])(?P<key>[^'"]+)(?P=q)\]|(?P<field>[a-z_]+))"""
    r"""\s*:\s*(?P<vq>['"])(?P<value>[^'"]*)(?P=vq)\s*"""
)
_AND = re.compile(r"\s+AND\s+")


@dataclass(frozen=True)
class Clause:
    field: str | None
    metadata_key: str | None
    value: str

    def matches(self, obj: JsonObject) -> bool:
        if self.metadata_key is not None:
            return bool(obj["metadata"].get(self.metadata_key) == self.value)
        return str(obj.get(self.field or "")) == self.value


def parse_query(query: str) -> list[Clause]:
    clauses = []
    for text in _AND.split(query.strip()):
        match = _CLAUSE.fullmatch(text)
        if match is None:
            raise errors.invalid_request(
                f"The search query could not be parsed near `{text}`: the emulator supports "
                "`field:'value'` and `metadata['key']:'value'` clauses joined by AND.",
                param="query",
            )
        clauses.append(Clause(match["field"], match["key"], match["value"]))
    return clauses


def search(items: list[JsonObject], query: str) -> list[JsonObject]:
    clauses = parse_query(query)
    return [item for item in items if all(clause.matches(item) for clause in clauses)]
