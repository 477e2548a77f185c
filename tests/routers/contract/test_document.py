"""What the OpenAPI document says of every operation: its problem responses, generated from the
errors its route and dependencies declare, and request rules taken from the settings."""

import json
from typing import Any

import pytest

from app.main import create_app, openapi_document
from app.problems import PROBLEM_JSON
from tests.conftest import make_settings

Operation = dict[str, Any]


def operations(document: dict[str, Any]) -> dict[str, Operation]:
    return {
        f"{method.upper()} {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def problem_codes(operation: Operation, status: int) -> list[str]:
    schema = operation["responses"][str(status)]["content"][PROBLEM_JSON]["schema"]
    assert schema["allOf"] == [{"$ref": "#/components/schemas/Problem"}]
    assert schema["properties"]["status"] == {"enum": [status]}
    codes: list[str] = schema["properties"]["code"]["enum"]
    return codes


DOCUMENT = openapi_document()
OPERATIONS = operations(DOCUMENT)


def test_fastapis_validation_error_schema_is_gone() -> None:
    text = json.dumps(DOCUMENT)
    assert "HTTPValidationError" not in text
    assert set(DOCUMENT["components"]["schemas"]) >= {"Problem", "FieldError"}
    assert DOCUMENT["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "code",
        "instance",
    ]


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_error_response_is_a_problem_with_its_codes(name: str) -> None:
    responses = OPERATIONS[name]["responses"]
    errors = [status for status in responses if int(status) >= 400]
    assert {"422", "500"} <= set(errors)
    assert "internal_error" in problem_codes(OPERATIONS[name], 500)
    assert "validation_error" in problem_codes(OPERATIONS[name], 422)
    for status in errors:
        assert list(responses[status]["content"]) == [PROBLEM_JSON]
        assert problem_codes(OPERATIONS[name], int(status))


FEATURE_GATED = {"POST /checkout", "POST /payouts", "POST /wallet/topup_request"}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_auth_refusals_come_with_the_auth_dependencies(name: str) -> None:
    operation = OPERATIONS[name]
    if "security" in operation:
        assert problem_codes(operation, 401) == ["unauthenticated"]
        # A flow behind a feature flag refuses users without it too (`require_feature`).
        gated = ["feature_disabled"] if name in FEATURE_GATED else []
        assert problem_codes(operation, 403) == [*gated, "forbidden"]
    else:
        assert {"401", "403"}.isdisjoint(operation["responses"])


def test_bodies_document_their_refusals() -> None:
    topup = OPERATIONS["POST /wallet/topup_request"]
    assert problem_codes(topup, 400) == ["malformed_json"]
    assert problem_codes(topup, 413) == ["request_too_large"]
    assert problem_codes(topup, 415) == ["unsupported_media_type"]
    assert problem_codes(topup, 429) == ["too_many_open_topups"]
    assert set(problem_codes(topup, 409)) >= {"idempotency_key_reused", "idempotency_request_in_flight"}
    assert problem_codes(topup, 504) == ["payment_outcome_unknown"]
    webhook = OPERATIONS["POST /webhooks/stripe"]
    assert problem_codes(webhook, 400) == [
        "invalid_signature",
        "invalid_webhook_payload",
        "livemode_mismatch",
    ]
    assert problem_codes(webhook, 413) == ["request_too_large"]
    assert "415" not in webhook["responses"]  # the signature is checked over whatever bytes came


def test_reads_document_not_found_for_unknown_and_foreign_ids() -> None:
    assert problem_codes(OPERATIONS["GET /wallet/topups/{topup_id}"], 404) == ["not_found"]
    assert problem_codes(OPERATIONS["GET /wallet/transactions"], 404) == ["unknown_cursor"]
    assert problem_codes(OPERATIONS["POST /admin/webhook-events/{event_id}/replay"], 409) == [
        "webhook_event_in_progress"
    ]


def topup_request_schema(document: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"]["TopupRequestBody"]
    return schema


def test_the_topup_schema_states_the_servers_rules() -> None:
    schema = topup_request_schema(DOCUMENT)
    assert schema["additionalProperties"] is False
    assert (schema["properties"]["amount"]["minimum"], schema["properties"]["amount"]["maximum"]) == (
        500,
        100_000,
    )
    assert schema["properties"]["amount"]["type"] == "integer"
    assert schema["properties"]["currency"]["enum"] == ["usd"]
    assert "x-from-settings" not in json.dumps(DOCUMENT)


def test_the_rules_follow_the_settings(mongodb_uri: str) -> None:
    settings = make_settings(
        mongodb_uri, topup_min_amount=1000, topup_max_amount=5000, platform_currency="eur"
    )
    schema = topup_request_schema(create_app(settings).openapi())
    assert (schema["properties"]["amount"]["minimum"], schema["properties"]["amount"]["maximum"]) == (
        1000,
        5000,
    )
    assert schema["properties"]["currency"]["enum"] == ["eur"]


def test_the_webhook_body_is_the_envelope_the_intake_checks() -> None:
    body = OPERATIONS["POST /webhooks/stripe"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["id", "object", "type", "created", "livemode", "data"]
    assert body["properties"]["livemode"]["enum"] == [False]  # test keys in the default settings
    assert body["properties"]["created"]["maximum"] == 253_402_300_799
    assert body["properties"]["id"]["maxLength"] == 255
