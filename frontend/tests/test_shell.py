"""The app shell: sidebar from the menu groups with the member's order, hidden modules and collapsed
groups; the admin area; theme and language preferences; the palette's record search (visibility filter,
other tenants); page titles; the style page; the product name from the environment."""

from __future__ import annotations

import json
import re

import pytest
from django.template import Context, Template
from django_tenants.utils import schema_context

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from frontend.templatetags.ui import avatar_colour, icon_name, initials

pytestmark = pytest.mark.django_db


def _sidebar_links(page: str) -> list[str]:
    sidebar = page[page.index('id="sidebar"') : page.index("</aside>")]
    return re.findall(r'href="/m/([a-z_]+)/"', sidebar)


def test_sidebar_shows_the_menu_groups_in_the_members_order_without_hidden_modules(tenant_a, member, client_for):
    seller = member(tenant_a)
    web = client_for(tenant_a, seller)

    response = web.post(
        "/settings/sidebar/",
        {"order": ["deals", "leads", "organizations", "contacts"], "shown": ["deals", "leads", "contacts"]},
    )

    assert response.status_code == 302
    page = web.get("/").content.decode()
    links = _sidebar_links(page)
    assert links[:3] == ["deals", "leads", "contacts"]
    assert "organizations" not in links
    with schema_context(tenant_a.schema_name):
        stored = Member.objects.get(pk=seller.pk).sidebar
    assert stored["hidden"] == ["organizations"]
    assert stored["order"] == ["deals", "leads", "organizations", "contacts"]


def test_sidebar_move_buttons_reorder_without_javascript(tenant_a, member, client_for):
    web = client_for(tenant_a, member(tenant_a))
    order = ["leads", "organizations", "contacts", "deals"]

    web.post("/settings/sidebar/", {"order": order, "shown": order, "move": "contacts:up"})

    assert _sidebar_links(web.get("/").content.decode())[:4] == ["leads", "contacts", "organizations", "deals"]


def test_sidebar_refuses_modules_the_member_cannot_see_and_changes_nothing(tenant_a, member, client_for):
    seller = member(tenant_a)
    web = client_for(tenant_a, seller)

    response = web.post("/settings/sidebar/", {"order": ["leads", "nonsense"], "shown": ["leads"]}, follow=True)

    assert "Unknown: nonsense." in response.content.decode()
    with schema_context(tenant_a.schema_name):
        assert Member.objects.get(pk=seller.pk).sidebar == {}


def test_collapsed_groups_are_remembered_and_rendered_closed(tenant_a, member, client_for):
    web = client_for(tenant_a, member(tenant_a))

    response = web.post(
        "/settings/preferences/",
        json.dumps({"collapsed": ["marketing"]}),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 200
    assert response.json()["sidebar"]["collapsed"] == ["marketing"]
    page = web.get("/").content.decode()
    assert '<details class="sidebar__group" data-nav-group="marketing">' in page
    assert '<details class="sidebar__group" data-nav-group="sales" open>' in page


def test_bad_preferences_are_a_400_with_the_field_and_change_nothing(tenant_a, member, client_for):
    seller = member(tenant_a)
    web = client_for(tenant_a, seller)

    response = web.post(
        "/settings/preferences/", json.dumps({"theme": "neon", "collapsed": ["x"]}), content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["theme"]
    with schema_context(tenant_a.schema_name):
        assert Member.objects.get(pk=seller.pk).theme == "system"


def test_theme_override_is_rendered_on_the_html_element(tenant_a, member, client_for):
    web = client_for(tenant_a, member(tenant_a))
    assert '<html lang="en">' in web.get("/").content.decode()

    response = web.post("/settings/preferences/", {"theme": "dark", "next": "/m/leads/"})

    assert response.status_code == 302
    assert response["Location"] == "/m/leads/"
    assert '<html lang="en" data-theme="dark">' in web.get("/").content.decode()


def test_language_from_the_member_menu(tenant_a, member, client_for):
    seller = member(tenant_a)
    web = client_for(tenant_a, seller)

    web.post("/settings/preferences/", {"language": "ru", "next": "https://evil.example/"})

    with schema_context(tenant_a.schema_name):
        assert Member.objects.get(pk=seller.pk).language == "ru"
    assert '<html lang="ru"' in web.get("/").content.decode()


def test_preferences_need_a_signed_in_member(tenant_a, client_for):
    response = client_for(tenant_a).post("/settings/preferences/", {"theme": "dark"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_admin_area_is_separate_and_only_for_admins(tenant_a, member, admin_of, client_for):
    admin_page = client_for(tenant_a, admin_of(tenant_a)).get("/").content.decode()
    seller_page = client_for(tenant_a, member(tenant_a)).get("/").content.decode()

    admin_nav = admin_page[admin_page.index("sidebar__nav--admin") :]
    assert 'href="/settings/members/"' in admin_nav
    assert 'href="/settings/ui/"' in admin_nav
    assert 'href="/settings/members/"' not in seller_page
    assert 'href="/settings/ui/"' not in seller_page


def test_palette_lists_modules_and_new_record_actions_the_member_may_use(tenant_a, member, client_for):
    page = client_for(tenant_a, member(tenant_a)).get("/").content.decode()

    found = re.search(r'<script id="palette-data" type="application/json">(.*?)</script>', page)
    assert found is not None
    data = json.loads(found.group(1))
    labels = {entry["label"]: entry["url"] for entry in data}
    assert labels["Leads"] == "/m/leads/"
    assert labels["New lead"] == "/m/leads/new/"
    assert labels["Deals board"] == "/m/deals/board/"
    assert "Members" not in labels


def test_palette_records_go_through_the_visibility_filter_and_stay_in_their_tenant(
    tenant_a, tenant_b, admin_of, client_for
):
    for tenant, last_name in ((tenant_a, "Scorpio"), (tenant_b, "Scorpion")):
        with schema_context(tenant.schema_name):
            record_create(spec=registry.get("contacts"), actor=admin_of(tenant), data={"last_name": last_name})

    response = client_for(tenant_a, admin_of(tenant_a)).get("/palette/records/", {"q": "scorp"})

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["label"] for r in results] == ["Scorpio"]
    assert results[0]["hint"] == "Contact"
    assert results[0]["url"].startswith("/m/contacts/")


def test_palette_records_need_a_member(tenant_a, client_for):
    assert client_for(tenant_a).get("/palette/records/", {"q": "scorp"}).status_code == 302


def test_page_titles_name_the_page_the_workspace_and_the_product(tenant_a, admin_of, client_for, settings):
    settings.PRODUCT_NAME = "Acme CRM"
    web = client_for(tenant_a, admin_of(tenant_a))
    name = tenant_a.name

    assert f"<title>Leads · {name} · Acme CRM</title>" in web.get("/m/leads/").content.decode()
    assert f"<title>Home · {name} · Acme CRM</title>" in web.get("/").content.decode()
    assert f"<title>Style guide · {name} · Acme CRM</title>" in web.get("/settings/ui/").content.decode()


def test_public_pages_carry_the_product_name(public_client, settings):
    settings.PRODUCT_NAME = "Acme CRM"
    settings.PRODUCT_LOGO_URL = "https://cdn.example/logo.svg"

    page = public_client.get("/pricing/").content.decode()

    assert "<title>Pricing · Acme CRM</title>" in page
    assert '<img class="logo" src="https://cdn.example/logo.svg"' in page
    assert 'id="sidebar"' not in page


def test_style_page_is_for_admins_and_renders_every_component_in_both_themes(tenant_a, member, admin_of, client_for):
    assert client_for(tenant_a, member(tenant_a)).get("/settings/ui/").status_code == 403

    page = client_for(tenant_a, admin_of(tenant_a)).get("/settings/ui/").content.decode()

    assert 'data-style-theme="light"' in page
    assert 'data-style-theme="dark"' in page
    for marker in (
        'class="avatar',
        'role="tablist"',
        "data-dropdown",
        "data-modal-open",
        "data-confirm=",
        'class="skeleton"',
        'empty-state"',
        'type="date"',
        'type="time"',
        "toast--success",
        "badge--danger",
        "button--danger",
    ):
        assert page.count(marker) >= 2, marker


def test_messages_become_toasts_in_a_live_region(tenant_a, member, client_for):
    web = client_for(tenant_a, member(tenant_a))

    page = web.post("/settings/sidebar/", {"order": ["leads"], "shown": ["leads"]}, follow=True).content.decode()

    assert 'class="toasts" data-toasts aria-live="polite" role="status"' in page
    assert "toast toast--success" in page
    assert "The sidebar was saved." in page


def test_doctitle_leaves_out_an_empty_page_part_and_repeats_nothing():
    template = Template("{% load ui %}{% doctitle %}{{ page }}{% enddoctitle %}")

    class T:
        name = "North & Co"

    assert template.render(Context({"page": "", "tenant": T(), "product_name": "K"})) == "North &amp; Co · K"
    assert template.render(Context({"page": "Home · North & Co", "tenant": T(), "product_name": "K"})) == (
        "Home · North &amp; Co · K"
    )


def test_avatars_and_icons():
    assert initials("Sam Seller") == "SS"
    assert initials("ada") == "A"
    assert initials("Mary Jane Watson") == "MW"
    assert initials("") == "?"
    assert avatar_colour("Sam Seller") == avatar_colour(" sam seller ")
    assert icon_name("person") == "user"
    assert icon_name("handshake") == "handshake"
    assert icon_name("no-such-icon") == "file-text"


def test_long_multiple_choices_are_filterable_checkbox_lists_not_ctrl_click_selects():
    from marketplace.partners.forms import ProfileForm

    html = str(ProfileForm()["countries"])

    assert "data-checklist" in html
    assert "<select" not in html
    assert html.count('type="checkbox"') >= 240
    assert 'aria-label="Filter the choices"' in html


def test_the_shell_speaks_russian(tenant_a, member, client_for):
    seller = member(tenant_a)
    web = client_for(tenant_a, seller)
    web.post("/settings/preferences/", {"language": "ru"})

    page = web.get("/").content.decode()

    assert "Настроить боковую панель" in page
    assert 'placeholder="Найти или перейти…"' in page
    found = re.search(r'<script id="palette-data" type="application/json">(.*?)</script>', page)
    assert found is not None
    assert "Создать: лид" in [entry["label"] for entry in json.loads(found.group(1))]


def _current_links(page: str) -> list[str]:
    sidebar = page[page.index('id="sidebar"') : page.index("</aside>")]
    return re.findall(r'href="([^"]+)"[^>]*aria-current="page"', sidebar)


def test_cached_shell_marks_the_current_page_and_follows_access_and_preference_changes(
    tenant_a, member, admin_of, client_for
):
    """The sidebar, palette and quick create are cached per member (ADR 0047): the current link is still
    marked on every page, and a change of the member's preferences or of the workspace's access rules shows
    on the next page."""
    from crm_apps.access.services import sharing_default_set

    seller = member(tenant_a)
    web = client_for(tenant_a, seller)
    with schema_context(tenant_a.schema_name):
        record = record_create(spec=registry.get("contacts"), actor=seller, data=dict(registry.get("contacts").example))

    assert _current_links(web.get("/").content.decode()) == ["/"]
    assert _current_links(web.get("/m/contacts/").content.decode()) == ["/m/contacts/"]
    assert _current_links(web.get(f"/m/contacts/{record.pk}/").content.decode()) == ["/m/contacts/"]
    assert _current_links(web.get("/m/deals/").content.decode()) == ["/m/deals/"]
    assert _current_links(web.get("/reports/").content.decode()) == ["/reports/"]

    web.post("/settings/sidebar/", {"order": ["deals", "contacts"], "shown": ["contacts"]})
    assert "deals" not in _sidebar_links(web.get("/").content.decode())

    # An access change (here a sharing default) moves the tenant's access version; the shell stays right.
    before = web.get("/").content.decode()
    with schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin_of(tenant_a), module="contacts", access="private")
    after = web.get("/").content.decode()
    assert _sidebar_links(after) == _sidebar_links(before)
    # Another member's cached shell is never served to this one.
    other = client_for(tenant_a, admin_of(tenant_a)).get("/").content.decode()
    assert "deals" in _sidebar_links(other)


def test_shell_parts_kept_in_the_process_stay_in_their_workspace(tenant_a, tenant_b, member, client_for, monkeypatch):
    """The rendered parts are kept in Redis (under the schema's key prefix) and in the process (under the
    schema too): even with the same cache key in two workspaces, each draws its own member's sidebar."""
    from frontend import context_processors

    monkeypatch.setattr(context_processors, "shell_cache_key", lambda shell: "shell:same-key-everywhere")
    web_a = client_for(tenant_a, member(tenant_a))
    web_b = client_for(tenant_b, member(tenant_b))
    web_b.post("/settings/sidebar/", {"order": ["contacts", "deals"], "shown": ["contacts"]})

    first_a = _sidebar_links(web_a.get("/").content.decode())
    first_b = _sidebar_links(web_b.get("/").content.decode())
    again_a = _sidebar_links(web_a.get("/").content.decode())

    assert "deals" in first_a and first_a == again_a
    assert "contacts" in first_b and "deals" not in first_b


def test_cached_member_menu_carries_this_page_and_a_working_csrf_token(tenant_a, member, client_for):
    """The member menu is a cached shell part: the address to come back to and the CSRF token are the page's,
    filled in on every page; the theme, language and name follow the member's changes."""
    seller = member(tenant_a)
    web = client_for(tenant_a, seller, enforce_csrf_checks=True)

    def menu(page: str) -> str:
        return page[page.index('id="member-menu"') : page.index("</form>", page.index('action="/accounts/logout/'))]

    on_list = menu(web.get("/m/contacts/?q=a%26b").content.decode())
    on_home = menu(web.get("/").content.decode())
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', on_home)

    assert on_list.count('name="next" value="/m/contacts/?q=a%26b"') == 2
    assert on_home.count('name="next" value="/"') == 2
    assert "shell-part" not in on_list + on_home
    assert token is not None and on_home.count("csrfmiddlewaretoken") == 3
    saved = web.post("/settings/preferences/", {"theme": "dark", "next": "/", "csrfmiddlewaretoken": token.group(1)})
    assert saved.status_code == 302
    # The theme is part of the cached menu's key: the pressed button follows the change.
    assert 'value="dark" class="segmented__option" aria-pressed="true"' in menu(web.get("/").content.decode())
