"""The audit inventory stays whole: every writer the source holds is classified, every
state-changing one is reached by a walk, and every action the service records is expected by one.

So a new path that writes state fails here until a walk proves it leaves its audit record (or the
inventory says, with a reason, why it is no state change); see "Audit" in CONVENTIONS.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.services.audit import test_every_change_audited
from tests.services.audit.inventory import NOT_STATE_CHANGES, STORED_FROM_STRIPE, state_changes
from tests.services.audit.test_every_change_audited import ROWS
from tests.services.audit.writers import recorded_actions, writers

WALKS = Path(test_every_change_audited.__file__)


def test_the_inventory_names_only_writers_the_source_holds() -> None:
    classified = STORED_FROM_STRIPE.keys() | NOT_STATE_CHANGES.keys()

    assert not STORED_FROM_STRIPE.keys() & NOT_STATE_CHANGES.keys()
    assert sorted(classified - writers().keys()) == [], "no such writer: rename or remove it"


def test_every_state_changing_writer_is_walked() -> None:
    walked = set().union(*(walk.writers() for walk in ROWS))
    must_walk = state_changes(set(writers())) | STORED_FROM_STRIPE.keys()

    assert sorted(must_walk - walked) == [], (
        "writers no walk reaches: add the change to a row of test_every_change_audited.py "
        "(or, if it changes no state, to NOT_STATE_CHANGES with why)"
    )


def test_every_recorded_action_is_expected_by_a_walk() -> None:
    actions, prefixes = recorded_actions()
    expected = _strings_of(WALKS)

    assert sorted(actions - expected) == [], "actions the service records that no walk expects"
    assert sorted(p for p in prefixes if not any(action.startswith(p) for action in expected)) == []


def _strings_of(path: Path) -> set[str]:
    """Every string the walks' source names: the actions of their `Expected` records among them."""
    tree = ast.parse(path.read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
