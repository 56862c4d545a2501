"""Browser journey in Debian's Chromium: a partner signs up, edits its profile, appears in the
directory, a visitor contacts it (on a phone, by keyboard), the lead shows in the portal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from marketplace.partners import forms as partner_forms
from marketplace.partners.models import Partner
from marketplace.partners.services import partners_approve
from tenants.models import User
from tests.e2e.conftest import browser, live_site  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def cleanup_partners(committed: Any) -> Iterator[list[str]]:
    slugs: list[str] = []
    yield slugs
    Partner.objects.filter(slug__in=slugs).delete()


class ShiftedClock:
    """`django.utils.timezone` as the partners' forms see it, moved forward on demand: the spam check's
    minimum fill time passes without the test waiting for it (the live server is a thread of this process)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return timezone.now() + self.offset


def test_partner_signs_up_gets_listed_and_receives_a_lead(
    live_site,  # noqa: F811
    browser,  # noqa: F811
    committed,
    cleanup_partners,
    monkeypatch,
):
    clock = ShiftedClock()
    monkeypatch.setattr(partner_forms, "timezone", clock)
    base = f"http://localhost:{live_site}"
    slug = committed.slug("pj")
    cleanup_partners.append(slug)
    email = committed.email()

    page = browser.new_page()
    page.goto(base + "/partner-portal/")
    page.get_by_role("main").get_by_role("link", name="Become a partner").click()
    page.get_by_label("Your name").fill("Petra Partner")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill("partner-pass-2026")
    page.get_by_label("Company name").fill("Petra <CRM> Experts")
    page.get_by_label("Address name").fill(slug)
    page.get_by_role("button", name="Create the partner").click()

    page.wait_for_url(re.compile(rf".*/partner-portal/{slug}/profile/$"))
    page.get_by_label("Description").fill("We implement the CRM for wholesalers in the Nordics.")
    page.get_by_label("Website").fill("https://petra.example")
    countries = page.get_by_role("group", name="Countries served")
    countries.get_by_role("searchbox", name="Filter the choices").fill("swe")
    countries.get_by_label("Sweden", exact=True).check()
    countries.get_by_role("searchbox", name="Filter the choices").fill("")
    countries.get_by_label("Norway", exact=True).check()
    languages = page.get_by_role("group", name="Languages")
    languages.get_by_label("Swedish", exact=True).check()
    languages.get_by_label("English", exact=True).check()
    page.get_by_label("Implementation").check()
    page.get_by_label("Training").check()
    page.get_by_label("Logistics").check()
    page.get_by_role("button", name="Save the profile").click()
    assert page.get_by_text("Profile saved.").is_visible()
    assert page.get_by_text("waiting for an operator's review").is_visible()

    # Not in the directory until an operator approves the new partner (issue 26).
    anonymous = browser.new_page()
    anonymous.goto(base + f"/partners/{slug}/")
    assert anonymous.get_by_role("heading", name="Petra <CRM> Experts").count() == 0
    anonymous.close()
    operator = User.objects.create_user(committed.email(), "operator-pass-2026", name="Op", is_staff=True)
    try:
        assert partners_approve(operator=operator, partners=[Partner.objects.get(slug=slug)]) == (1, [])
    finally:
        Partner.objects.filter(slug=slug).update(approved_by=None)
        operator.delete()
    page.reload()
    assert page.get_by_text("Your profile is listed in the public partner directory.").is_visible()

    # A visitor on a phone finds the partner with the filters and contacts it, by keyboard.
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    visitor = context.new_page()
    visitor.goto(base + "/partners/")
    visitor.get_by_label("Country").select_option("SE")
    visitor.get_by_label("Service").select_option("training")
    visitor.get_by_role("button", name="Search").click()
    card = visitor.get_by_role("link", name="Petra <CRM> Experts")  # escaped, shown as text
    assert card.is_visible()
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 390
    card.click()
    visitor.wait_for_url(re.compile(rf".*/partners/{slug}/$"))
    assert visitor.get_by_text("Sweden").first.is_visible()
    visitor.get_by_label("Your name").fill("Vik Visitor")
    visitor.get_by_label("Email address").fill("vik@example.com")
    visitor.get_by_label("How can this partner help?").fill("We need 15 seats set up before spring.")
    assert not visitor.get_by_label("Leave this field empty").is_visible()
    clock.offset = timedelta(seconds=partner_forms.FILL_MIN_SECONDS + 1)  # a person takes a few seconds to fill it
    visitor.get_by_label("How can this partner help?").focus()
    visitor.keyboard.press("Tab")
    assert visitor.evaluate("document.activeElement.textContent.trim()") == "Send the message"
    visitor.keyboard.press("Enter")
    visitor.wait_for_url(re.compile(rf".*/partners/{slug}/sent/$"))
    assert visitor.get_by_role("heading", name="Message sent").is_visible()
    context.close()

    # The partner sees the lead in its portal.
    page.get_by_role("navigation", name="Partner portal").get_by_role("link", name="Leads").click()
    page.get_by_role("link", name="Vik Visitor").click()
    assert page.get_by_text("We need 15 seats set up before spring.").is_visible()
    assert page.get_by_role("link", name="vik@example.com").is_visible()
