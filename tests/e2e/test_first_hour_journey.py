"""The first hour in Russian: sign up a Russian workspace (the address suggested from the organisation
name), see Russian stages on the board, load sample data from the checklist and remove it again."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_russian_workspace_board_and_sample_data_from_the_checklist(live_site, browser, committed):
    slug = committed.slug("ru")
    email = committed.email()
    page = browser.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    base = f"http://localhost:{live_site}"

    page.goto(base + "/signup/")
    page.get_by_label("Organisation name").fill("Рога и копыта")
    subdomain = page.get_by_label("Subdomain")
    page.wait_for_function("() => document.querySelector('[name=subdomain]').value === 'roga-i-kopyta'")
    assert page.locator("[data-address-preview]").inner_text() == f"http://roga-i-kopyta.localhost:{live_site}/"
    subdomain.fill(slug)
    page.wait_for_function(
        f"() => document.querySelector('[data-address-preview]').textContent.includes('{slug}.localhost:{live_site}')"
    )
    page.get_by_label("Your name").fill("Остап Бендер")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill("click-click-2026")
    page.get_by_label("Workspace language").select_option("ru")
    page.get_by_role("button", name="Create workspace").click()

    page.wait_for_url(f"http://{slug}.localhost:{live_site}/")
    checklist = page.locator("#onboarding")
    assert checklist.get_by_role("heading", name="Начало работы").is_visible()
    assert checklist.get_by_role("link", name="Добавьте первый лид или сделку").is_visible()

    page.goto(f"http://{slug}.localhost:{live_site}/m/deals/board/")
    assert page.get_by_text("Поиск клиентов").first.is_visible()
    assert page.get_by_text("Успешно закрыта").first.is_visible()

    page.goto(f"http://{slug}.localhost:{live_site}/")
    page.get_by_role("button", name="Загрузить демо-данные").click()
    page.wait_for_url(f"http://{slug}.localhost:{live_site}/")
    page.wait_for_selector("text=демо-записей")
    assert page.get_by_role("button", name="Удалить демо-данные").is_visible()
    page.goto(f"http://{slug}.localhost:{live_site}/m/deals/board/")
    assert page.locator(".board").get_by_role("link").count() > 0

    page.goto(f"http://{slug}.localhost:{live_site}/")
    page.get_by_role("button", name="Удалить демо-данные").click()
    page.locator("[data-confirm-dialog]").get_by_role("button", name="Подтвердить").click()  # the shell asks first
    page.get_by_role("button", name="Загрузить демо-данные").wait_for()  # the page after the removal
    assert page.get_by_role("button", name="Загрузить демо-данные").is_visible()
    assert page.get_by_text("Демо-данные удалены (записей: 130).").is_visible()
