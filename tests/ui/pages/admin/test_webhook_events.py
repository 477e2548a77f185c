"""The admin console's webhook events: finding a dead letter, reading it, replaying it with
confirmation, and the replay's record in the audit log."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Page, Request, Route, expect

from app.auth import Role
from app.db import Collections, Database
from tests.conftest import TokenFactory, eventually_found
from tests.ui.browsing import dead_lettered_event, ignored_event, sign_in

REPLAY_PATH = "/replay"
UUID_V4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


async def test_an_admin_finds_a_dead_letter_replays_it_and_finds_the_replay_in_the_audit_log(
    page: Page, admin_token: str, live_service: str, database: Database
) -> None:
    dead = await dead_lettered_event(live_service, database)
    ignored = await ignored_event(live_service, database)
    replays: list[Request] = []
    page.on("request", lambda request: replays.append(request) if request.url.endswith(REPLAY_PATH) else None)
    await sign_in(page, admin_token)

    navigation = page.get_by_role("navigation", name="Pages")
    await navigation.get_by_role("link", name="Webhook events").click()
    await expect(page.get_by_role("link", name=ignored["_id"])).to_be_visible()
    await page.get_by_label("Status").select_option("dead_letter")
    await page.get_by_role("button", name="Show events").click()
    await expect(page.get_by_role("link", name=ignored["_id"])).to_be_hidden()
    assert page.url.endswith("#/admin/webhook-events?status=dead_letter")

    await page.get_by_role("link", name=dead["_id"]).click()
    await expect(page.get_by_role("heading", name=f"Webhook event {dead['_id']}")).to_be_focused()
    await expect(page.get_by_text("names no connected account")).to_be_visible()
    await expect(page.locator("pre.payload")).to_contain_text(f'"id": "{dead["_id"]}"')

    replay = page.get_by_role("button", name="Replay event")
    dialog = page.get_by_role("dialog", name="Replay this event?")
    await replay.focus()
    await page.keyboard.press("Enter")
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(replay).to_be_focused()
    await replay.click()
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    assert replays == []

    await replay.click()
    await dialog.get_by_role("button", name="Replay event").click()
    outcome = page.locator("[data-outcome]")
    await expect(outcome).to_have_attribute("data-outcome", "dead_lettered")
    await expect(outcome).to_contain_text("the event stays a dead letter")
    await expect(outcome).to_be_focused()
    attempts = page.locator("dt", has_text="Attempts").locator("xpath=following-sibling::dd[1]")
    await expect(attempts).to_have_text("2")
    assert len(replays) == 1

    await eventually_found(
        database, Collections.AUDIT_LOG, {"action": "webhook_event.replayed", "object.id": dead["_id"]}
    )
    await navigation.get_by_role("link", name="Audit log").click()
    await page.get_by_label("Action").fill("webhook_event.replayed")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_text("1 shown, the whole list.")).to_be_visible()
    record = page.get_by_role("row").filter(has_text=dead["_id"])
    await expect(record).to_contain_text("admin-ui (admin)")
    await expect(record).to_contain_text("webhook_event.replayed")
    await expect(record).to_contain_text(
        '{"status":"dead_letter","attempts":1} → {"status":"processing","attempts":2}'
    )


async def test_support_reads_an_event_but_is_offered_no_replay(
    page: Page, token: TokenFactory, live_service: str, database: Database
) -> None:
    dead = await dead_lettered_event(live_service, database)
    await sign_in(page, token("support-ui", Role.SUPPORT))

    await page.goto(f"/ui/#/admin/webhook-events/{dead['_id']}")
    await expect(page.get_by_text("names no connected account")).to_be_visible()
    await expect(page.get_by_role("button", name="Replay event")).to_have_count(0)


async def test_a_replay_that_got_no_answer_is_sent_again_with_its_idempotency_key(
    page: Page, admin_token: str, live_service: str, database: Database
) -> None:
    dead = await dead_lettered_event(live_service, database)
    keys: list[str] = []

    async def lose_the_first_answer(route: Route) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            await route.abort("internetdisconnected")
        else:
            await route.continue_()

    await page.route(f"**{REPLAY_PATH}", lose_the_first_answer)
    await sign_in(page, admin_token)
    await page.goto(f"/ui/#/admin/webhook-events/{dead['_id']}")
    replay = page.get_by_role("button", name="Replay event")
    dialog = page.get_by_role("dialog", name="Replay this event?")

    await replay.click()
    await dialog.get_by_role("button", name="Replay event").click()
    failure = page.get_by_role("alert")
    await expect(failure).to_contain_text("The service could not be reached.")
    await failure.get_by_role("button", name="Try again").click()
    await expect(page.locator("[data-outcome]")).to_have_attribute("data-outcome", "dead_lettered")

    await replay.click()
    await dialog.get_by_role("button", name="Replay event").click()
    await expect(page.locator("[data-outcome]")).to_be_visible()
    await expect(
        page.locator("dt", has_text="Attempts").locator("xpath=following-sibling::dd[1]")
    ).to_have_text("3")
    assert len(keys) == 3
    assert keys[0] == keys[1], "a retry of one action sends its key again"
    assert keys[2] != keys[0], "a new action has a new key"
    assert all(UUID_V4.fullmatch(key) for key in keys)


async def test_load_more_continues_the_list_after_its_last_event(
    page: Page, admin_token: str, live_service: str, database: Database
) -> None:
    ids = [(await ignored_event(live_service, database))["_id"] for _ in range(3)]
    await sign_in(page, admin_token)

    await page.goto("/ui/#/admin/webhook-events?limit=2")
    links = page.get_by_role("row").get_by_role("link")
    await expect(links).to_have_count(2)
    first_page = await links.all_text_contents()
    async with page.expect_request(lambda request: "starting_after=" in request.url) as next_page:
        await page.get_by_role("button", name="Load more").click()
    await expect(links).to_have_count(3)
    await expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    await expect(page.get_by_text("3 shown, the whole list.")).to_be_visible()

    query = parse_qs(urlsplit((await next_page.value).url).query)
    assert query["starting_after"] == [first_page[-1]]
    assert query["limit"] == ["2"]
    assert sorted(await links.all_text_contents()) == sorted(ids)


async def test_a_refused_filter_names_the_field(page: Page, admin_token: str) -> None:
    await sign_in(page, admin_token)
    await page.goto("/ui/#/admin/webhook-events?limit=500")

    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("Some of what was sent is not valid. Check the fields named below.")
    await expect(refusal.get_by_role("listitem")).to_have_text(
        ["query.limit: Input should be less than or equal to 100"]
    )
    await expect(refusal).to_contain_text("422 validation_error")
