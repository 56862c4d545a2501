"""`{% fragment %}` (frontend/fragments.py): a template rendered with the given values only, kept in the
process for exactly those values, language, formats and workspace; a value it cannot key is rendered
every time. On the list page: each member's own layout, filters and CSRF token, in their language."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.template import engines
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django_tenants.utils import schema_context

from crm_apps.access.formats import formats_activate, formats_deactivate
from frontend import fragments
from saas import cache_versions

pytestmark = pytest.mark.django_db

TEMPLATE = "engine/_list_bulk_bar.html"


@pytest.fixture
def renders(monkeypatch):
    """The template names actually rendered (not served from the process)."""
    rendered = []
    real = fragments.get_template

    def counting(name):
        rendered.append(name)
        return real(name)

    monkeypatch.setattr(fragments, "get_template", counting)
    return rendered


def bar(**changes):
    values = {"module": "contacts", "owners": [("m:1", "Ada")], "mass_fields": [("city", "City")]}
    values["selection_actions"] = []
    return {**values, **changes}


def test_same_values_are_rendered_once_other_values_again(tenant_a, renders):
    with schema_context(tenant_a.schema_name):
        first = fragments.fragment(TEMPLATE, **bar())
        again = fragments.fragment(TEMPLATE, **bar())
        other = fragments.fragment(TEMPLATE, **bar(owners=[("m:1", "Ada"), ("m:2", "Grace <b>")]))
    assert first == again and isinstance(again, SafeString)
    assert '<option value="m:2">Grace &lt;b&gt;</option>' in other and "Grace" not in first
    assert renders == [TEMPLATE, TEMPLATE]


def test_each_language_formats_and_workspace_gets_its_own(tenant_a, tenant_b, member, renders):
    with schema_context(tenant_a.schema_name):
        with translation.override("en"):
            english = fragments.fragment(TEMPLATE, **bar())
        with translation.override("ru"):
            russian = fragments.fragment(TEMPLATE, **bar())
        ada = member(tenant_a, email="ada.formats@example.com")
        ada.number_format = "space_comma"
        token = formats_activate(ada)
        try:
            with translation.override("en"):
                formatted = fragments.fragment(TEMPLATE, **bar())
        finally:
            formats_deactivate(token)
    with schema_context(tenant_b.schema_name), translation.override("en"):
        elsewhere = fragments.fragment(TEMPLATE, **bar())
    assert "Change owner" in english and "Change owner" not in russian
    assert formatted == english == elsewhere
    # Rendered for each: English, Russian, the other formats, the other workspace
    assert len(renders) == 4


def test_a_value_it_cannot_key_is_rendered_every_time(tenant_a, admin_of, renders):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        for _ in range(2):
            fragments.fragment(TEMPLATE, **bar(owners=[("m:1", admin)]))
    assert renders == [TEMPLATE, TEMPLATE]
    assert fragments.fragment_key(TEMPLATE, bar(owners=[("m:1", admin)])) is None


def test_keys_tell_apart_what_renders_differently():
    @dataclass
    class Column:
        name: str
        width: int | None = None

    plain = fragments.fragment_key(TEMPLATE, {"label": "<b>x</b>"})
    safe = fragments.fragment_key(TEMPLATE, {"label": mark_safe("<b>x</b>")})
    listed = fragments.fragment_key(TEMPLATE, {"label": ["a"]})
    tupled = fragments.fragment_key(TEMPLATE, {"label": ("a",)})
    narrow = fragments.fragment_key(TEMPLATE, {"c": Column("city", 80)})
    wide = fragments.fragment_key(TEMPLATE, {"c": Column("city", 120)})
    other = fragments.fragment_key("engine/_list_thead.html", {"label": "<b>x</b>"})
    assert len({plain, safe, listed, tupled, narrow, wide, other}) == 7
    assert fragments.fragment_key(TEMPLATE, {"c": Column("city", 80)}) == narrow


def test_keys_tell_apart_equal_numbers_of_other_types_in_any_container():
    # 1 == True == 1.0 in Python, but they render as "1", "True" and "1.0": never the same key.
    def key(value):
        return fragments.fragment_key(TEMPLATE, {"v": value})

    shapes = [
        lambda x: [x],
        lambda x: (x, "a"),
        lambda x: {"k": x},
        lambda x: {x: "k"},
        lambda x: [{"k": x}],
        lambda x: [("m", x), mark_safe("s")],  # a container walked item by item
    ]
    for shape in shapes:
        keys = [key(shape(x)) for x in (1, True, 1.0)]
        assert len(set(keys)) == 3, shape(1)
        assert key(shape(1)) == key(shape(1))  # equal inputs made anew: the same key
    assert key(["<b>"]) != key([mark_safe("<b>")])
    assert key({"label": "x"}) != key({"label": ["x"]})


def test_the_template_sees_only_what_it_is_given(tenant_a):
    # A fragment has no request, user or CSRF token: what it shows is what the key names
    engine = engines["django"]
    with schema_context(tenant_a.schema_name):
        html = engine.from_string('{% load ui %}{% fragment "engine/_list_thead.html" table_columns=columns %}').render(
            {"columns": [{"label": "Name", "name": "name", "column": True}], "csrf_token": "SECRET"}
        )
    assert "Name" in html and "SECRET" not in html


def test_list_page_fragments_follow_each_member(client_for, tenant_a, admin_of, member):
    cache_versions.remembered_local_clear()
    admin = admin_of(tenant_a)
    grace = member(tenant_a, email="grace.fragments@example.com")
    with schema_context(tenant_a.schema_name):
        grace.language = "ru"
        grace.save(update_fields=["language"])
    admin_web, grace_web = client_for(tenant_a, admin), client_for(tenant_a, grace)
    admin_web.get("/m/contacts/")  # fragments rendered for the administrator first
    # When the administrator narrows their columns and filters the list
    saved = admin_web.post("/m/contacts/layout/", {"columns": ["last_name", "email"], "page_size": "50"})
    mine = admin_web.get("/m/contacts/", {"mailing_city": "Paris"}).content.decode()
    theirs = grace_web.get("/m/contacts/").content.decode()

    def checked(html):
        return re.findall(r'name="columns" value="([^"]+)" checked', html)

    def token(html):
        picker = html[html.index("data-layout-form") :]
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', picker)
        assert found is not None
        return found.group(1)

    assert saved.status_code == 302
    assert checked(mine) == ["last_name", "email"] and len(checked(theirs)) > 2
    assert '<option value="50" selected>' in mine and '<option value="50" selected>' not in theirs
    assert 'name="mailing_city" value="Paris"' in mine and 'value="Paris"' not in theirs
    assert "Сохранить макет" in theirs and "Save layout" in mine  # each member's own language
    assert token(mine) != token(theirs)
    # and the member's own token posts their layout
    assert grace_web.post("/m/contacts/layout/", {"columns": ["last_name"], "page_size": "25"}).status_code == 302
