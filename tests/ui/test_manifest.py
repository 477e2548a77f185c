"""pages.json, the pages the shell knows, and problem-messages.json, the sentence shown for each
problem code: consistent with each other and with the API's document."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from app.auth import Role
from app.main import openapi_document
from app.ui import STATIC_DIRECTORY
from tests.problem_contract import documented_problems
from tests.ui.browsing import manifest

OPERATION = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) /\S+$")


def problem_messages() -> dict[str, str]:
    loaded: dict[str, str] = json.loads(Path(STATIC_DIRECTORY, "problem-messages.json").read_text("utf-8"))
    return loaded


def codes_of(operations: list[str], document: dict[str, Any]) -> set[str]:
    """The problem codes these operations (`"GET /path"`) can answer."""
    documented = documented_problems(document)
    codes: set[str] = set()
    for operation in operations:
        method, path = operation.split(" ", 1)
        codes |= {code for _, code in documented.get((path, method), set())}
    return codes


def test_each_page_is_described_once_and_completely() -> None:
    pages, sections = manifest()["pages"], {section["id"] for section in manifest()["sections"]}
    assert len({page["id"] for page in pages}) == len(pages)
    assert len({page["path"] for page in pages}) == len(pages)
    for page in pages:
        assert page["section"] in sections, page["id"]
        assert page["path"].startswith("/"), page["id"]
        assert page["path"] not in {"/", "/sign-in"}, page["id"]  # the shell's own
        assert page["title"], page["id"]
        assert page["summary"], page["id"]
        assert page["roles"], page["id"]
        assert set(page["roles"]) <= {str(role) for role in Role}, page["id"]
        assert page["operations"], page["id"]
        assert all(OPERATION.match(operation) for operation in page["operations"]), page["id"]


def test_every_code_the_written_pages_can_meet_has_a_sentence() -> None:
    document = openapi_document()
    written = [
        operation for page in manifest()["pages"] if page["module"] for operation in page["operations"]
    ]
    missing = codes_of(written, document) - problem_messages().keys()
    assert not missing, f"add a sentence for each of these codes to problem-messages.json: {sorted(missing)}"
    assert {"forbidden", "unauthenticated", "not_found", "unknown_cursor"} <= codes_of(written, document)


def test_every_sentence_is_for_a_code_the_api_answers() -> None:
    documented = {code for pairs in documented_problems(openapi_document()).values() for _, code in pairs}
    assert problem_messages().keys() <= documented
