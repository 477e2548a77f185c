"""`make run`'s stack: SecantusDB, the Stripe emulator and the service, wired to each other.

Started as `make run` starts it (python -m local_stack), in a temporary home and on free ports.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from local_stack import __main__ as make_run
from local_stack.ports import Port
from tests.local_stack_support import start_on_ports_nobody_takes


@dataclass(frozen=True)
class LocalStack:
    home: Path
    api: str
    emulator: str
    database: str
    banner: str


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    home = tmp_path_factory.mktemp("local-stack")
    stack, ports = start_on_ports_nobody_takes(home)
    try:
        yield LocalStack(
            home,
            api=f"http://127.0.0.1:{ports['PORT']}",
            emulator=f"http://127.0.0.1:{ports['LOCAL_STRIPE_EMULATOR_PORT']}",
            database=f"mongodb://127.0.0.1:{ports['LOCAL_DB_PORT']}/?directConnection=true",
            banner=stack.output,
        )
    finally:
        stack.process.send_signal(signal.SIGTERM)
        stack.finish()


def token_for(stack: LocalStack, user: str, role: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app", "token", "--user", user, "--role", role],
        cwd=stack.home,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip().splitlines()[-1]


def test_when_the_banner_shows_every_component_answers(local_stack: LocalStack) -> None:
    assert httpx.get(f"{local_stack.api}/readyz").json() == {"status": "ready"}
    config = httpx.get(f"{local_stack.emulator}/_emulator/config").json()
    assert config["webhook_url"] == f"{local_stack.api}/webhooks/stripe"
    client: MongoClient[dict[str, object]]
    with MongoClient(local_stack.database, serverSelectionTimeoutMS=2000) as client:
        assert "secantus" in client.admin.command("serverStatus")
        assert client.payments.users.count_documents({}) > 0, "the demo data is seeded"


def test_make_run_serves_demo_data_and_secrets_stay_out_of_git(local_stack: LocalStack) -> None:
    env_file = (local_stack.home / ".env").read_text()
    assert "JWT_SECRET=" in env_file
    assert "STRIPE_API_BASE=http://127.0.0.1:" in env_file
    assert (local_stack.home / "var" / "db").is_dir()
    assert httpx.get(f"{local_stack.api}/docs").status_code == 200


def test_the_banner_points_at_the_web_pages_and_an_admin_token_opens_the_console(
    local_stack: LocalStack,
) -> None:
    pages = f"{local_stack.api}/ui/"
    assert f"Web pages: {pages} " in local_stack.banner
    assert httpx.get(pages).status_code == 200
    assert "--user admin_demo --role admin" in local_stack.banner
    admin = {"Authorization": f"Bearer {token_for(local_stack, 'admin_demo', 'admin')}"}
    assert httpx.get(f"{local_stack.api}/admin/audit", headers=admin).status_code == 200


def test_the_service_pays_through_the_emulator_and_hears_its_webhooks(local_stack: LocalStack) -> None:
    headers = {"Authorization": f"Bearer {token_for(local_stack, 'buyer_demo', 'buyer')}"}
    topup = httpx.post(
        f"{local_stack.api}/wallet/topup_request",
        json={"amount": 1000, "currency": "usd"},
        headers={**headers, "Idempotency-Key": "local-stack-topup"},
        timeout=30,
    )
    assert topup.status_code == 201, topup.text
    intent = topup.json()["payment_intent_id"]

    confirmed = httpx.post(
        f"{local_stack.emulator}/v1/payment_intents/{intent}/confirm",
        data={"payment_method": "pm_card_visa"},
        headers={"Authorization": "Bearer sk_test_emulator"},
        timeout=30,
    )
    assert confirmed.json()["status"] == "succeeded"

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        wallet = httpx.get(f"{local_stack.api}/wallet", headers=headers, timeout=10).json()
        if wallet["platform_balance"] == 1000:
            return
        time.sleep(0.2)
    raise AssertionError(f"the top-up was not credited: {wallet}")


def test_stripes_onboarding_returns_the_demo_seller_to_the_set_up_payments_page(
    local_stack: LocalStack,
) -> None:
    seller = {"Authorization": f"Bearer {token_for(local_stack, 'seller_demo', 'seller')}"}
    link = httpx.get(f"{local_stack.api}/seller/seller_demo/onboarding-link", headers=seller, timeout=30)
    assert link.status_code == 200, link.text

    submitted = httpx.post(link.json()["url"], data={"account_number": "000123456789"}, timeout=30)

    assert submitted.status_code == 303
    assert submitted.headers["location"] == f"{local_stack.api}/ui/#/seller/setup?returned=1"


def wallet_balance_reaches(stack: LocalStack, headers: dict[str, str], amount: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        wallet = httpx.get(f"{stack.api}/wallet", headers=headers, timeout=10).json()
        if wallet["platform_balance"] == amount:
            return
        time.sleep(0.2)
    raise AssertionError(f"the top-up was not credited: {wallet}")


def test_a_frontend_gets_the_emulators_publishable_key(local_stack: LocalStack) -> None:
    assert (
        f"STRIPE_PUBLISHABLE_KEY={make_run.EMULATOR_PUBLISHABLE_KEY}\n"
        in (local_stack.home / ".env").read_text()
    )
    answer = httpx.get(f"{local_stack.api}/config/stripe", timeout=10)
    assert answer.json() == {"publishable_key": make_run.EMULATOR_PUBLISHABLE_KEY, "currency": "usd"}


def test_the_banners_steps_pay_a_topup_on_the_payment_page(local_stack: LocalStack) -> None:
    [page] = re.findall(
        r"(http://\S+/_emulator/pay)\?client_secret=\$SECRET&return_url=(\S+)\"", local_stack.banner
    )
    assert page == (f"{local_stack.emulator}/_emulator/pay", f"{local_stack.api}/docs")
    headers = {"Authorization": f"Bearer {token_for(local_stack, 'buyer_demo', 'buyer')}"}
    topup = httpx.post(
        f"{local_stack.api}/wallet/topup_request",
        json={"amount": 2500, "currency": "usd"},
        headers={**headers, "Idempotency-Key": "local-stack-page-topup"},
        timeout=30,
    )
    assert topup.status_code == 201, topup.text
    before = httpx.get(f"{local_stack.api}/wallet", headers=headers, timeout=10).json()["platform_balance"]

    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        form = {"client_secret": topup.json()["client_secret"], "return_url": page[1]}
        assert browser.get(page[0], params=form).status_code == 200
        landed = browser.post(page[0], data={**form, "card": "4242424242424242"})

    assert str(landed.url).startswith(f"{local_stack.api}/docs?")
    assert "redirect_status=succeeded" in str(landed.url)
    wallet_balance_reaches(local_stack, headers, before + 2500)


EMULATOR_ENV = (
    "# written by an earlier make run\n"
    "JWT_SECRET=kept-as-it-was\n"
    "STRIPE_SECRET_KEY=sk_test_emulator\n"
    "STRIPE_API_BASE=http://127.0.0.1:12111\n"
    "STRIPE_WEBHOOK_SECRET=whsec_platform_emulator\n"
)
EMULATOR_PORT = Port("the Stripe emulator", "LOCAL_STRIPE_EMULATOR_PORT", 12111)


@pytest.mark.parametrize("ending", ["\n", ""])
def test_an_older_env_file_gains_the_publishable_key_and_keeps_its_lines(tmp_path: Path, ending: str) -> None:
    written = EMULATOR_ENV.removesuffix("\n") + ending
    (tmp_path / ".env").write_text(written)

    settings = make_run.LocalStack(tmp_path, {}).settings(EMULATOR_PORT)

    after = (tmp_path / ".env").read_text()
    assert after == EMULATOR_ENV + f"STRIPE_PUBLISHABLE_KEY={make_run.EMULATOR_PUBLISHABLE_KEY}\n"
    assert settings["STRIPE_PUBLISHABLE_KEY"] == make_run.EMULATOR_PUBLISHABLE_KEY
    assert settings["JWT_SECRET"] == "kept-as-it-was"
    make_run.LocalStack(tmp_path, {}).settings(EMULATOR_PORT)
    assert (tmp_path / ".env").read_text() == after, "added once"


def test_an_env_file_for_real_stripe_is_left_alone(tmp_path: Path) -> None:
    real = EMULATOR_ENV.replace("sk_test_emulator", "sk_test_real")
    (tmp_path / ".env").write_text(real)

    settings = make_run.LocalStack(tmp_path, {}).settings(EMULATOR_PORT)

    assert (tmp_path / ".env").read_text() == real
    assert "STRIPE_PUBLISHABLE_KEY" not in settings


def test_an_exported_publishable_key_wins_over_the_env_file(tmp_path: Path) -> None:
    settings = make_run.LocalStack(tmp_path, {"STRIPE_PUBLISHABLE_KEY": "pk_test_exported"}).settings(
        EMULATOR_PORT
    )
    assert settings["STRIPE_PUBLISHABLE_KEY"] == "pk_test_exported"
    assert f"STRIPE_PUBLISHABLE_KEY={make_run.EMULATOR_PUBLISHABLE_KEY}\n" in (tmp_path / ".env").read_text()
