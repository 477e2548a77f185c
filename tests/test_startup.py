"""The service refuses to start where it cannot keep its promises, and says why."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.errors import ConfigurationError
from app.main import create_app
from tests.conftest import make_settings
from tests.mongo_server import free_port, wait_until_ready


@pytest.fixture(scope="module")
def standalone_uri() -> Iterator[str]:
    port = free_port()
    executable = Path(sys.executable).with_name("secantusd-py")
    process = subprocess.Popen(
        [str(executable), "--port", str(port), "--storage-path", ":memory:", "--standalone"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    try:
        wait_until_ready(uri, process)
        yield uri
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_standalone_server_is_refused_with_instructions(standalone_uri: str) -> None:
    app = create_app(make_settings(standalone_uri))
    with pytest.raises(ConfigurationError, match="replica set"):
        async with app.router.lifespan_context(app):
            pass


VALID_ENV = {
    "PATH": "",
    "MONGODB_URI": "mongodb://x",
    "STRIPE_SECRET_KEY": "sk_test_ok",
    "STRIPE_WEBHOOK_SECRET": "whsec_a",
    "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_b",
    "JWT_SECRET": "y" * 40,
}


@pytest.mark.parametrize(
    ("overrides", "named", "hidden"),
    [
        (
            {"STRIPE_SECRET_KEY": "pk_test_wrong", "PLATFORM_CURRENCY": "USD"},
            ["STRIPE_SECRET_KEY", "PLATFORM_CURRENCY"],
            "pk_test_wrong",
        ),
        ({"JWT_SECRET": "short"}, ["JWT_SECRET"], "short"),
        ({"STRIPE_PUBLISHABLE_KEY": "pk_live_other_mode"}, ["STRIPE_PUBLISHABLE_KEY"], None),
        ({"MONGODB_URI": ""}, [], None),
        ({"PLATFORM_FEE_BPS": "10001"}, ["PLATFORM_FEE_BPS"], None),
        # A top-up below Stripe's minimum charge would be refused by Stripe.
        ({"TOPUP_MIN_AMOUNT": "49"}, ["TOPUP_MIN_AMOUNT", "50 usd"], None),
        ({"PLATFORM_CURRENCY": "gbp", "TOPUP_MIN_AMOUNT": "29"}, ["TOPUP_MIN_AMOUNT", "30 gbp"], None),
        # No minimum charge known: Stripe's is "50 cents or equivalent" at the day's rate.
        ({"PLATFORM_CURRENCY": "xof"}, ["PLATFORM_CURRENCY", "'xof'"], None),
    ],
)
def test_invalid_settings_are_reported_by_name(
    tmp_path: Path, overrides: dict[str, str], named: list[str], hidden: str | None
) -> None:
    env = {**VALID_ENV, **overrides}
    if not env["MONGODB_URI"]:
        del env["MONGODB_URI"]
        named = ["MONGODB_URI"]
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("Invalid configuration")
    for name in named:
        assert name in result.stderr
    if hidden:
        assert f"'{hidden}'" not in result.stderr


def test_token_command_prints_a_verifiable_token_on_its_last_line(tmp_path: Path) -> None:
    from app.auth import Role, decode_token
    from tests.conftest import TEST_JWT_SECRET

    env = {"PATH": "", "JWT_SECRET": TEST_JWT_SECRET}
    result = subprocess.run(
        [sys.executable, "-m", "app", "token", "--user", "u42", "--role", "buyer", "--role", "seller"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = result.stdout.strip().splitlines()[-1]
    principal = decode_token(make_settings("mongodb://unused"), token)
    assert principal.user_id == "u42"
    assert principal.roles == {Role.BUYER, Role.SELLER}
