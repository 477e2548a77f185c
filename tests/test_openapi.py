import json
from pathlib import Path

from app.main import openapi_document

ROOT = Path(__file__).resolve().parent.parent


def test_committed_openapi_json_matches_the_application() -> None:
    committed = json.loads((ROOT / "openapi.json").read_text())
    assert committed == openapi_document(), "openapi.json is stale: run `make openapi` and commit it"
