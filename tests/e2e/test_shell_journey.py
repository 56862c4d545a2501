"""The app shell in Chromium: sidebar navigation, the command palette by keyboard, quick create, the dark
theme (system setting and the member's override) on a desktop and a phone; axe-core on every main page
(zero violations); a pixel comparison of the style page against a committed baseline.

Refresh the baseline after an intended visual change: `UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest
tests/e2e/test_shell_journey.py -k style_page` (then look at the PNG before committing it)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user, shared_on_unlimited_plan
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(settings.BASE_DIR) / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SNAPSHOTS = Path(__file__).parent / "snapshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# Share of pixels allowed to differ (anti-aliasing, font hinting) and the per-channel difference ignored.
PIXEL_TOLERANCE = 0.005
CHANNEL_TOLERANCE = 24


def workspace(committed: Any, *, name: str = "Northwind Traders") -> tuple[Any, Any, dict[str, Any]]:
    """A committed workspace on the unlimited plan, its admin, and a few records."""
    admin = make_user(committed.email(), name="Dana Whitfield")
    tenant = tenant_provision(slug=committed.slug("shell"), name=name, admin=admin)
    shared_on_unlimited_plan([tenant.schema_name])
    records: dict[str, Any] = {}
    with tenant_context(tenant):
        from crm_apps.access.models import Member

        actor = Member.objects.get(user=admin)
        records["contact"] = record_create(
            spec=registry.get("contacts"), actor=actor, data={"first_name": "Hank", "last_name": "Scorpio"}
        )
        records["lead"] = record_create(
            spec=registry.get("leads"),
            actor=actor,
            data={"first_name": "Lisa", "last_name": "Simpson", "company": "Recycling Ltd"},
        )
        records["deal"] = record_create(
            spec=registry.get("deals"),
            actor=actor,
            data={"name": "Hammock order", "amount": "12500", "close_date": "2027-03-31"},
        )
    return tenant, admin, records


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is (WCAG 2.1 A/AA and best practices), one line each."""
    # The page as its scripts leave it (charts drawn after their data arrived), then axe-core evaluated
    # through the browser's debugging protocol rather than added as an inline <script>, which the
    # Content-Security-Policy refuses (saas/headers.py).
    page.wait_for_load_state("networkidle")
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(
            v => `${v.id}: ${v.help} -> ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | ")}`)"""
    )
    return list(found)


def background(page: Any) -> str:
    return page.evaluate("() => getComputedStyle(document.body).backgroundColor")


LIGHT_BG = "rgb(245, 246, 250)"
DARK_BG = "rgb(14, 18, 24)"


def test_shell_on_a_desktop(live_site, browser, committed):
    tenant, admin, records = workspace(committed)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    context = browser.new_context(viewport=DESKTOP, color_scheme="light")
    page = context.new_page()
    sign_in(page, base, admin.email)
    assert page.title() == f"Home · Northwind Traders · {settings.PRODUCT_NAME}"

    # The sidebar: module groups from the specs, the current module marked.
    sidebar = page.get_by_role("complementary", name="Sidebar")
    sidebar.get_by_role("link", name="Contacts").click()
    page.wait_for_url(base + "/m/contacts/")
    assert sidebar.get_by_role("link", name="Contacts").get_attribute("aria-current") == "page"
    assert page.title() == f"Contacts · Northwind Traders · {settings.PRODUCT_NAME}"

    # Collapsing a group is remembered across pages.
    sidebar.locator("summary", has_text="Marketing").click()
    page.wait_for_timeout(300)
    page.reload()
    assert not sidebar.get_by_role("link", name="Campaigns").is_visible()

    # The command palette by keyboard: Ctrl-K, type, Enter lands on the record.
    page.keyboard.press("Control+k")
    palette = page.get_by_role("combobox", name="Search everything")
    assert palette.evaluate("el => el === document.activeElement")
    page.keyboard.type("scorp")
    option = page.get_by_role("option", name=re.compile("Hank Scorpio"))
    option.wait_for()
    assert option.get_attribute("aria-selected") == "true"
    assert palette.get_attribute("aria-activedescendant") == option.get_attribute("id")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/m/contacts/{records['contact'].pk}/")

    # ... and on an action: "new lead" opens the lead form.
    page.keyboard.press("Control+k")
    page.keyboard.type("new lead")
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/m/leads/new/")

    # Arrow keys move through the options; Escape closes the list.
    page.keyboard.press("/")
    page.keyboard.type("deals")
    page.get_by_role("option", name="Deals board").wait_for()
    page.keyboard.press("ArrowDown")
    selected = page.locator("[role=option][aria-selected=true]")
    assert selected.count() == 1
    page.keyboard.press("Escape")
    assert palette.get_attribute("aria-expanded") == "false"

    # Quick create: the "New" menu lists the modules, each opening its form.
    page.get_by_role("button", name="New record").click()
    page.get_by_role("link", name="Deal", exact=True).click()
    page.wait_for_url(base + "/m/deals/new/")

    # Dark theme: the member's override applies at once and is kept; "System" follows the setting again.
    assert background(page) == LIGHT_BG
    page.get_by_role("button", name="Account of Dana Whitfield").click()
    page.get_by_role("button", name="Dark").click()
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    assert background(page) == DARK_BG
    page.wait_for_timeout(300)
    page.reload()
    assert page.locator("html").get_attribute("data-theme") == "dark"
    assert background(page) == DARK_BG
    page.get_by_role("button", name="Account of Dana Whitfield").click()
    page.get_by_role("button", name="System").click()
    page.wait_for_function("() => !document.documentElement.dataset.theme")
    assert background(page) == LIGHT_BG
    context.close()

    # The system's dark setting (emulated) darkens the app without any override.
    dark = browser.new_context(viewport=DESKTOP, color_scheme="dark")
    page = dark.new_page()
    sign_in(page, base, admin.email)
    page.wait_for_timeout(200)
    assert page.locator("html").get_attribute("data-theme") is None
    assert background(page) == DARK_BG
    dark.close()


def test_shell_on_a_phone(live_site, browser, committed):
    tenant, admin, records = workspace(committed)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    sign_in(page, base, admin.email)

    # The sidebar is a drawer: hidden until the menu button opens it; Escape closes it.
    sidebar = page.get_by_role("complementary", name="Sidebar")
    assert not sidebar.get_by_role("link", name="Deals").is_visible()
    menu = page.get_by_role("button", name="Menu", exact=True)
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    sidebar.get_by_role("link", name="Deals").wait_for(state="visible")
    page.keyboard.press("Escape")
    assert menu.get_attribute("aria-expanded") == "false"
    menu.click()
    sidebar.get_by_role("link", name="Deals").click()
    page.wait_for_url(base + "/m/deals/")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

    # The palette and quick create work on the phone too.
    palette = page.get_by_role("combobox", name="Search everything")
    palette.tap()
    palette.fill("simpson")
    page.get_by_role("option", name=re.compile("Lisa Simpson")).tap()
    page.wait_for_url(f"{base}/m/leads/{records['lead'].pk}/")
    page.get_by_role("button", name="New record").tap()
    page.get_by_role("link", name="Contact", exact=True).tap()
    page.wait_for_url(base + "/m/contacts/new/")
    context.close()


def test_main_pages_have_no_axe_violations(live_site, browser, committed):
    from marketplace.partners.models import Partner, PartnerMember, PartnerRole

    tenant, admin, records = workspace(committed)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    public = f"http://localhost:{live_site}"
    owner = make_user(committed.email(), name="Pat Partner")
    partner = Partner.objects.create(name="Shell Partners", slug=committed.slug("partner"))
    PartnerMember.objects.create(partner=partner, user=owner, role=PartnerRole.OWNER)
    tenant_pages = [
        "/",
        "/m/leads/",
        f"/m/leads/{records['lead'].pk}/",
        f"/m/leads/{records['lead'].pk}/convert/",
        f"/m/contacts/{records['contact'].pk}/",
        "/m/deals/board/",
        "/m/leads/new/",
        "/search/?q=scorp",
        "/settings/modules/",
        "/settings/modules/leads/fields/",
        "/settings/access/",
        "/settings/access/roles/",
        "/settings/members/",
        "/settings/marketplace/",
        "/settings/profile/",
        "/settings/sidebar/",
        "/settings/ui/",
        "/settings/api-tokens/",
    ]
    failures: dict[str, list[str]] = {}
    try:
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport=DESKTOP, color_scheme=scheme)
            page = context.new_page()
            for path in [
                "/",
                "/pricing/",
                "/signup/",
                "/partners/",
                "/partner-portal/login/",
                "/partner-portal/signup/",
            ]:
                page.goto(public + path)
                failures.update({f"{scheme} public {path}": v for v in [axe_violations(page)] if v})
            page.goto(public + "/partner-portal/login/")
            page.get_by_label("Email").fill(owner.email)
            page.get_by_label("Password").fill(TEST_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{public}/partner-portal/{partner.slug}/")  # signed in ("/partner-portal/login/" is not)
            for path in ["", "profile/", "extensions/", "team/", "leads/", "listing/"]:
                page.goto(f"{public}/partner-portal/{partner.slug}/{path}")
                failures.update({f"{scheme} portal {path}": v for v in [axe_violations(page)] if v})
            sign_in(page, base, admin.email)
            for path in tenant_pages:
                page.goto(base + path)
                failures.update({f"{scheme} {path}": v for v in [axe_violations(page)] if v})
            # Open menus and the palette are checked too.
            page.goto(base + "/")
            page.get_by_role("button", name="Account of Dana Whitfield").click()
            page.keyboard.press("Control+k")
            page.keyboard.type("sc")
            page.get_by_role("option").first.wait_for()
            failures.update({f"{scheme} palette": v for v in [axe_violations(page)] if v})
            context.close()
    finally:
        Partner.objects.filter(pk=partner.pk).delete()
    assert failures == {}, "\n".join(f"{where}: {line}" for where, lines in failures.items() for line in lines)


def test_style_page_matches_the_baseline(live_site, browser, committed):
    from PIL import Image, ImageChops

    tenant, admin, _ = workspace(committed, name="Style Co")
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    context = browser.new_context(viewport=DESKTOP, color_scheme="light", device_scale_factor=1)
    page = context.new_page()
    sign_in(page, base, admin.email)
    page.goto(base + "/settings/ui/")
    page.evaluate("() => document.fonts.ready")
    page.add_style_tag(content=".appbar { position: static; }")  # the sticky bar would cover the scrolled element
    shot = page.locator(".style-guide").screenshot(animations="disabled", caret="hide")
    context.close()

    SNAPSHOTS.mkdir(exist_ok=True)
    baseline = SNAPSHOTS / "style_page.png"
    current = SNAPSHOTS / "style_page.current.png"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not baseline.exists():
        baseline.write_bytes(shot)
        pytest.skip(f"baseline written to {baseline}; look at it and commit it")
    current.write_bytes(shot)
    expected = Image.open(baseline).convert("RGB")
    actual = Image.open(current).convert("RGB")
    assert actual.size == expected.size, f"size {actual.size} != baseline {expected.size} (see {current})"
    diff = ImageChops.difference(expected, actual).convert("L").point(lambda v: 255 if v > CHANNEL_TOLERANCE else 0)
    changed = diff.histogram()[255]
    share = changed / (actual.size[0] * actual.size[1])
    assert share <= PIXEL_TOLERANCE, f"{share:.2%} of pixels differ from the baseline (see {current})"
    current.unlink()
