"""What a newcomer does first: sign up on the public site, land in the new tenant, sign out and in."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_signup_land_logout_login(live_site, browser, committed):
    slug = committed.slug("e2e")
    email = committed.email()
    page = browser.new_page()
    base = f"http://localhost:{live_site}"

    page.goto(base + "/")
    page.get_by_role("link", name="Create your workspace").click()
    page.get_by_label("Organisation name").fill("Browser & Sons <Ltd>")
    page.get_by_label("Subdomain").fill(slug)
    page.get_by_label("Your name").fill("Bea Browser")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill("click-click-2026")
    page.get_by_role("button", name="Create workspace").click()

    page.wait_for_url(f"http://{slug}.localhost:{live_site}/")
    assert page.get_by_role("heading", name="Hello, Bea").is_visible()
    assert page.get_by_role("link", name="Browser & Sons <Ltd>").is_visible()  # escaped, shown as text

    page.get_by_role("button", name="Account of Bea Browser").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/accounts/login/$"))
    page.get_by_label("Email").fill(email.upper())
    page.get_by_label("Password").fill("click-click-2026")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"http://{slug}.localhost:{live_site}/")
    assert page.get_by_role("heading", name="Hello, Bea").is_visible()


def test_signup_errors_are_shown_next_to_fields_and_focus_moves_there(live_site, browser, committed):
    page = browser.new_page()

    page.goto(f"http://localhost:{live_site}/signup/")
    page.get_by_label("Organisation name").fill("Acme")
    page.get_by_label("Subdomain").fill("admin")
    page.get_by_label("Your name").fill("Ann")
    page.get_by_label("Work email").fill("ann@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create workspace").click()

    # The click only starts the form's POST: wait for the answer page before looking at it.
    reserved = page.get_by_text("This subdomain is reserved. Please choose another.")
    reserved.wait_for(state="visible")
    assert page.get_by_text("This password is too short.", exact=False).is_visible()
    page.wait_for_function("document.activeElement && document.activeElement.name === 'subdomain'")
    assert page.evaluate("document.activeElement.name") == "subdomain"


def test_phone_layout_menu_and_keyboard_skip_link(live_site, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"http://localhost:{live_site}/")

    sign_in = page.get_by_role("navigation").get_by_role("link", name="Sign in")
    assert not sign_in.is_visible()
    page.get_by_role("button", name="Menu").click()
    assert sign_in.is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390

    page.goto(f"http://localhost:{live_site}/find-workspaces/")  # fresh page: focus starts at the top
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    context.close()


def test_creating_a_workspace_shows_progress_and_cannot_be_sent_twice(live_site, browser):
    page = browser.new_page()
    page.goto(f"http://localhost:{live_site}/signup/")
    # Keep the page in place after our own submit handler has run, to look at the button.
    page.evaluate("document.querySelector('form.form').addEventListener('submit', e => e.preventDefault())")

    page.get_by_role("button", name="Create workspace").click()

    busy = page.get_by_role("button", name="Creating your workspace…")
    assert busy.is_disabled()
    assert busy.get_attribute("aria-busy") == "true"
