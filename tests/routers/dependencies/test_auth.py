"""Every refusal is a 401/403 problem document; only the right user or role gets through."""

from datetime import timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from app.auth import Role, Unauthenticated, decode_token, mint_token
from app.config import Settings
from tests.conftest import TokenFactory, bearer, make_settings
from tests.routers.dependencies.protected_routes import mount


@pytest.fixture(autouse=True)
def routes(app: FastAPI) -> None:
    mount(app)


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert "Traceback" not in response.text


async def test_the_owner_reads_their_own_data(client: httpx.AsyncClient, token: TokenFactory) -> None:
    response = await client.get("/test/buyers/alice", headers=bearer(token("alice", Role.BUYER)))
    assert response.status_code == 200
    assert response.json() == {"buyer_id": "alice"}


async def test_no_token_is_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/buyers/alice")
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_non_bearer_scheme_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/buyers/alice", headers={"Authorization": "Basic YWxpY2U6cHc="})
    assert_problem(response, 401, "unauthenticated")


async def test_an_expired_token_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    expired = mint_token(settings, "alice", [Role.BUYER], lifetime=timedelta(seconds=-5))
    response = await client.get("/test/buyers/alice", headers=bearer(expired))
    assert_problem(response, 401, "unauthenticated")
    assert "expired" in response.json()["detail"]


async def test_a_token_signed_with_another_key_is_401(client: httpx.AsyncClient) -> None:
    forged = jwt.encode({"sub": "alice", "roles": ["admin"], "exp": 9999999999}, "x" * 40, algorithm="HS256")
    response = await client.get("/test/buyers/alice", headers=bearer(forged))
    assert_problem(response, 401, "unauthenticated")


async def test_an_unsigned_token_is_401(client: httpx.AsyncClient) -> None:
    unsigned = jwt.encode({"sub": "alice", "roles": ["admin"], "exp": 9999999999}, None, algorithm="none")
    response = await client.get("/test/admin-only", headers=bearer(unsigned))
    assert_problem(response, 401, "unauthenticated")


async def test_a_token_without_expiry_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
    no_exp = jwt.encode({"sub": "alice", "roles": ["buyer"]}, secret, algorithm="HS256")
    response = await client.get("/test/buyers/alice", headers=bearer(no_exp))
    assert_problem(response, 401, "unauthenticated")


async def test_the_wrong_role_is_403(client: httpx.AsyncClient, token: TokenFactory) -> None:
    response = await client.get("/test/buyers/alice", headers=bearer(token("alice", Role.SELLER)))
    assert_problem(response, 403, "forbidden")
    response = await client.get("/test/admin-only", headers=bearer(token("alice", Role.BUYER, Role.SUPPORT)))
    assert_problem(response, 403, "forbidden")


async def test_someone_elses_id_is_404_and_tells_nothing(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    response = await client.get("/test/buyers/alice", headers=bearer(token("mallory", Role.BUYER)))
    assert_problem(response, 404, "not_found")
    assert "belongs" not in response.json()["detail"]


async def test_staff_named_by_the_route_may_read_anyone(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    response = await client.get("/test/buyers/alice", headers=bearer(token("agent", Role.SUPPORT)))
    assert response.status_code == 200


async def test_admin_route_admits_an_admin(client: httpx.AsyncClient, token: TokenFactory) -> None:
    response = await client.get("/test/admin-only", headers=bearer(token("root", Role.ADMIN)))
    assert response.json() == {"user": "root"}


def test_rs256_tokens_verify_with_the_public_key(mongodb_uri: str) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    rs_settings = make_settings(
        mongodb_uri, jwt_algorithm="RS256", jwt_public_key=public_pem, jwt_secret=None
    )

    signed = mint_token(rs_settings, "bob", [Role.SELLER], private_key=private_pem)
    principal = decode_token(rs_settings, signed)

    assert principal.user_id == "bob"
    assert principal.roles == {Role.SELLER}
    hs_token = jwt.encode(
        {"sub": "bob", "roles": [], "exp": 9999999999}, public_pem[:40] * 2, algorithm="HS256"
    )
    with pytest.raises(Unauthenticated):
        decode_token(rs_settings, hs_token)


def test_unknown_roles_are_dropped_and_malformed_roles_refused(settings: Settings) -> None:
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
    token = jwt.encode(
        {"sub": "u", "roles": ["buyer", "wizard"], "exp": 9999999999}, secret, algorithm="HS256"
    )
    assert decode_token(settings, token).roles == {Role.BUYER}
    bad = jwt.encode({"sub": "u", "roles": "admin", "exp": 9999999999}, secret, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        decode_token(settings, bad)


# Public configuration, probes and the Stripe webhook (its signature is its credential); the API
# documentation (`/openapi.json`, `/docs`, `/redoc`) is outside the document enumerated here.
PUBLIC_OPERATIONS = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/config/stripe"),
    ("post", "/webhooks/stripe"),
}


async def test_every_documented_route_but_the_public_ones_needs_a_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    operations = [
        (method, path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method != "parameters"
    ]
    answered = {}
    for method, path in operations:
        url = path.replace("{", "").replace("}", "")  # every path parameter named after itself
        answered[(method, path)] = (await client.request(method.upper(), url)).status_code

    assert answered.keys() >= PUBLIC_OPERATIONS
    refused = {operation for operation, status in answered.items() if status == 401}
    assert refused == answered.keys() - PUBLIC_OPERATIONS, answered
