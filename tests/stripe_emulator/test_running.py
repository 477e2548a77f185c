"""Running the emulator: settings from the environment, `python -m stripe_emulator`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from stripe_emulator.settings import EmulatorSettings


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_from_env")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_from_env")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_a")
    monkeypatch.setenv("STRIPE_CONNECT_WEBHOOK_SECRET", "whsec_b")
    monkeypatch.setenv("EMULATOR_WEBHOOK_URL", "http://127.0.0.1:8000/webhooks/stripe")
    monkeypatch.setenv("EMULATOR_SETTLEMENT", "immediate")
    monkeypatch.setenv("EMULATOR_PROCESSING_DELAY_SECONDS", "none")

    settings = EmulatorSettings.from_env()

    assert settings == EmulatorSettings(
        api_key="sk_test_from_env",
        publishable_key="pk_test_from_env",
        webhook_secret="whsec_a",
        connect_webhook_secret="whsec_b",
        webhook_url="http://127.0.0.1:8000/webhooks/stripe",
        settlement="immediate",
        processing_delay_seconds=None,
    )


def test_settings_default_without_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "STRIPE_SECRET_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "EMULATOR_WEBHOOK_URL",
        "EMULATOR_SETTLEMENT",
        "EMULATOR_PROCESSING_DELAY_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = EmulatorSettings.from_env()
    assert settings == EmulatorSettings()
    assert (settings.publishable_key, settings.settlement) == ("pk_test_emulator", "deferred")
    assert settings.processing_delay_seconds == 1.0
    assert settings.webhook_url is None


@pytest.mark.parametrize(
    ("name", "value"),
    [("EMULATOR_SETTLEMENT", "eventually"), ("EMULATOR_PROCESSING_DELAY_SECONDS", "-1")],
)
def test_bad_settings_in_the_environment_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=value):
        EmulatorSettings.from_env()


def test_python_dash_m_serves_the_api() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "STRIPE_SECRET_KEY": "sk_test_cli"}
    command = [sys.executable, "-m", "stripe_emulator", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/v1/balance", "sk_test_cli")
        assert response.json()["object"] == "balance"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for(url: str, api_key: str) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:
        try:
            return httpx.get(url, headers={"Authorization": f"Bearer {api_key}"})
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
