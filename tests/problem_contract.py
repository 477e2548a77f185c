"""The check that keeps the OpenAPI document honest: every problem the service answered during
the test session (counted by `app.problems.answer` in `http_problems_total`) must be one its
operation documents, with that status and code.

`tests/conftest.py` runs it when each test session (each xdist worker) ends, over everything the
tests and the schemathesis run provoked; `tests/routers/contract/test_drift.py` proves it catches
a route that answers a code it did not declare.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from app.problems import PROBLEM_JSON

Answered = tuple[str, str, str, str]  # route template, method, status, code


def documented_problems(document: dict[str, Any]) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """(route template, METHOD) → the (status, code) pairs its document lists."""
    documented: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            pairs = documented.setdefault((path, method.upper()), set())
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get(PROBLEM_JSON, {}).get("schema")
                if schema is not None:
                    pairs.update((status, code) for code in schema["properties"]["code"]["enum"])
    return documented


def answered_problems() -> set[Answered]:
    """Every (route, method, status, code) this process answered a problem with so far."""
    return {
        (sample.labels["route"], sample.labels["method"], sample.labels["status"], sample.labels["code"])
        for metric in REGISTRY.collect()
        if metric.name == "http_problems"
        for sample in metric.samples
        if sample.name == "http_problems_total" and sample.value > 0
    }


def undocumented_problems(answered: set[Answered], document: dict[str, Any]) -> list[str]:
    """The answered problems of the document's operations that the document does not list.

    Answers of paths that are no operation (an unknown path, a method a path does not take,
    routes mounted by tests alone) are not the document's to list.
    """
    documented = documented_problems(document)
    return sorted(
        f"{method} {route}: {status} {code}"
        for route, method, status, code in answered
        if (route, method) in documented and (status, code) not in documented[(route, method)]
    )
