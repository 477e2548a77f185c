"""The shell of the pages: signing in with a token, the navigation of the token's roles, the
service's refusals shown as messages, the keyboard alone, and a phone's width."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from app.auth import Role, mint_token
from app.db import Database
from app.main import openapi_document
from tests.conftest import TokenFactory, make_settings
from tests.ui.browsing import dead_lettered_event, manifest, press_until_focused, sideways_overflow, sign_in


def offered_titles(*roles: str) -> list[str]:
    """The pages the navigation must offer these roles: written, meant for one of the roles,
    and calling only operations the API has."""
    document = openapi_document()
    operations = {
        f"{method.upper()} {path}" for path, methods in document["paths"].items() for method in methods
    }
    return [
        page["title"]
        for page in manifest()["pages"]
        if page["module"] and set(page["roles"]) & set(roles) and set(page["operations"]) <= operations
    ]


async def test_an_admin_signs_in_and_sees_the_admin_console(page: Page, admin_token: str) -> None:
    await sign_in(page, admin_token)

    navigation = page.get_by_role("navigation", name="Pages")
    await expect(navigation.get_by_role("heading", name="Admin console")).to_be_visible()
    expected = offered_titles("admin")
    assert "Webhook events" in expected
    assert "Audit log" in expected
    await expect(navigation.get_by_role("link")).to_have_text(expected)
    await expect(navigation.get_by_role("heading", name="Selling")).to_have_count(0)
    await expect(page.get_by_text("admin-ui (admin)")).to_be_visible()
    await expect(page.get_by_role("heading", name="Signed in as admin-ui")).to_be_focused()


async def test_a_buyer_sees_no_admin_page_and_one_opened_directly_is_refused(
    page: Page, token: TokenFactory
) -> None:
    await sign_in(page, token("buyer-ui", Role.BUYER))

    await expect(page.get_by_text("There are no pages for your roles yet.")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Pages").get_by_role("link")).to_have_count(0)

    await page.goto("/ui/#/admin/webhook-events")
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("Your account does not have the role this page or action needs.")
    await expect(refusal).to_contain_text("this needs one of the roles: admin, support")
    await expect(refusal).to_contain_text("403 forbidden")
    await expect(page.get_by_role("table")).to_be_hidden()


async def test_a_token_the_service_refuses_asks_to_sign_in_again(page: Page, mongodb_uri: str) -> None:
    signed_elsewhere = make_settings(mongodb_uri, jwt_secret="a-key-this-service-does-not-know-0123456789")
    await sign_in(page, mint_token(signed_elsewhere, "admin-ui", [Role.ADMIN]))
    await page.get_by_role("navigation", name="Pages").get_by_role("link", name="Audit log").click()

    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("The service did not accept your token")
    await expect(refusal).to_contain_text("401 unauthenticated")
    await refusal.get_by_role("link", name="Sign in again").click()
    await expect(page.get_by_label("Access token")).to_be_focused()


async def test_something_that_is_not_a_token_is_refused_before_any_call(page: Page) -> None:
    await page.goto("/ui/")
    await page.get_by_label("Access token").fill("not a token")
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("alert")).to_have_text(
        "This is not a JWT: a token is three parts separated by dots."
    )
    await expect(page.get_by_label("Access token")).to_be_focused()
    assert await page.evaluate("() => sessionStorage.length") == 0


async def test_signing_out_forgets_the_token(page: Page, admin_token: str) -> None:
    await sign_in(page, admin_token)
    await page.get_by_role("button", name="Sign out").click()

    await expect(page.get_by_label("Access token")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Pages")).to_be_hidden()
    assert await page.evaluate("() => sessionStorage.length") == 0
    await page.goto("/ui/#/admin/audit")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_the_keyboard_alone_signs_in_and_moves_between_pages(page: Page, admin_token: str) -> None:
    await page.goto("/ui/")
    await expect(page.get_by_label("Access token")).to_be_focused()
    await page.keyboard.insert_text(admin_token)  # pasted, as a person does with a token
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Signed in as admin-ui")).to_be_focused()

    main = page.get_by_role("main")
    await press_until_focused(page, main.get_by_role("link", name="Webhook events"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Webhook events")).to_be_focused()

    navigation = page.get_by_role("navigation", name="Pages")
    await press_until_focused(page, navigation.get_by_role("link", name="Audit log"), key="Shift+Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Audit log")).to_be_focused()
    await expect(navigation.get_by_role("link", name="Audit log")).to_have_attribute("aria-current", "page")

    await press_until_focused(page, page.get_by_label("Who"))
    await page.keyboard.type("nobody-at-all")
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("No audit record matches this search.")).to_be_visible()
    assert page.url.endswith("#/admin/audit?actor=nobody-at-all")


async def test_at_a_phone_width_no_page_scrolls_sideways(
    page: Page, admin_token: str, live_service: str, database: Database
) -> None:
    event = await dead_lettered_event(live_service, database)
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, admin_token)
    assert await sideways_overflow(page) == 0

    pages = {
        "#/admin/webhook-events": page.get_by_role("link", name=event["_id"]),
        f"#/admin/webhook-events/{event['_id']}": page.get_by_text("Payload as Stripe sent it"),
        "#/admin/audit": page.get_by_role("cell", name=re.compile("webhook_event.dead_lettered")),
    }
    for address, shown in pages.items():
        await page.goto(f"/ui/{address}")
        await expect(shown).to_be_visible()
        assert await sideways_overflow(page) == 0, address
