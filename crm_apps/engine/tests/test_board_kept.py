"""Board cards and column heads kept in the worker (engine/board_html.py): drawn once and served again while
nothing they are drawn from changed, each response with its own CSRF token; any change of the deal, its
owner, its amount, its column's totals, the member's language or rights gives the fresh HTML; nothing crosses
tenants."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context

from crm_apps.engine import board_html
from crm_apps.engine.tests.test_board_html import DEALS, assert_cards_match, deals

pytestmark = pytest.mark.django_db


def card_of(html: str, pk) -> str:
    found = re.search(rf'<li class="board__card[^"]*"[^>]*data-card="{pk}".*?</li>', html, re.S)
    assert found, f"no card for {pk}"
    return found.group(0)


def untokened(html: str) -> str:
    """The HTML without the CSRF tokens' values (each response has its own)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', html)


def head_of(html: str, value) -> str:
    found = re.search(rf'<section class="board__column" data-column="{value}".*?</header>', html, re.S)
    assert found, f"no column {value}"
    return found.group(0)


@pytest.fixture
def built(monkeypatch):
    """How many cards and heads were drawn (not taken from the store) since the test began."""
    counts = {"cards": 0}
    real = board_html._card_builder

    def counting(*args, **kwargs):
        build = real(*args, **kwargs)

        def counted(card):
            counts["cards"] += 1
            return build(card)

        return counted

    monkeypatch.setattr(board_html, "_card_builder", counting)
    return counts


def test_cards_are_drawn_once_and_served_again_with_each_requests_token(web, tenant_a, admin, built):
    _stage, made = deals(tenant_a, admin, 3)

    first = web.get("/m/deals/board/")
    drawn = built["cards"]
    again = web.get("/m/deals/board/")

    assert drawn == 3 and built["cards"] == 3  # the second page drew nothing
    body = assert_cards_match(again)  # byte for byte the reference template's output, with its own token
    assert "\x00" not in body
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', body))
    assert tokens == {str(again.context["csrf_token"])}
    assert str(first.context["csrf_token"]) not in tokens  # a kept card never carries an earlier token
    for record in made:
        assert untokened(card_of(body, record.pk)) == untokened(card_of(first.content.decode(), record.pk))


def test_a_changed_deal_or_owner_is_drawn_afresh_even_past_the_services(web, tenant_a, admin):
    _stage, (record,) = deals(tenant_a, admin, 1, name="Before", amount="10.00")
    web.get("/m/deals/board/")
    with tenant_context(tenant_a):
        DEALS.model.objects.filter(pk=record.pk).update(name="After")
    renamed = card_of(web.get("/m/deals/board/").content.decode(), record.pk)
    get_user_model().objects.filter(pk=admin.user_id).update(name="Renamed Owner")
    owner_renamed = card_of(web.get("/m/deals/board/").content.decode(), record.pk)
    with tenant_context(tenant_a):
        DEALS.model.objects.filter(pk=record.pk).update(amount="1234.50")
    repriced = card_of(web.get("/m/deals/board/").content.decode(), record.pk)

    assert "After" in renamed and "Before" not in renamed
    assert "Renamed Owner" in owner_renamed
    assert "1,234.50" in repriced and "10.00" not in repriced


def test_a_columns_head_follows_its_count_and_totals(web, tenant_a, admin):
    stage, _made = deals(tenant_a, admin, 2, amount="100.00", currency="EUR")
    before = head_of(web.get("/m/deals/board/").content.decode(), stage.pk)
    deals(tenant_a, admin, 1, name="Free", amount="0.00", currency="EUR")  # the same total, one more deal
    counted = head_of(web.get("/m/deals/board/").content.decode(), stage.pk)
    deals(tenant_a, admin, 1, name="More", amount="50.00", currency="EUR")
    summed = head_of(web.get("/m/deals/board/").content.decode(), stage.pk)

    assert "<span data-count>2</span>" in before
    assert "<span data-count>3</span>" in counted
    assert "<span data-count>4</span>" in summed and "250.00 EUR" in summed


def test_cards_follow_each_members_language_and_rights(client_for, tenant_a, admin, member):
    """The same deal through an English administrator who may move it and a Russian member who may not."""
    from crm_apps.engine.tests.test_lists import restricted_member

    reader = restricted_member(tenant_a, admin, member, field="stage", access="readonly", module="deals")
    _stage, (record,) = deals(tenant_a, admin, 1, owner=reader.pk)
    english, russian = client_for(tenant_a, admin), client_for(tenant_a, reader)
    russian.post("/settings/preferences/", {"language": "ru", "next": "/"})

    mine = card_of(english.get("/m/deals/board/").content.decode(), record.pk)
    theirs = card_of(russian.get("/m/deals/board/").content.decode(), record.pk)
    mine_again = card_of(english.get("/m/deals/board/").content.decode(), record.pk)

    assert "board__move" in mine and "Move to" in mine
    assert "board__move" not in theirs and "Сумма" in theirs
    assert untokened(mine_again) == untokened(mine)


def test_a_card_of_one_tenant_is_never_served_to_another(client_for, tenant_a, tenant_b, admin, admin_of):
    """Two workspaces, a deal with the same id in each: each board shows its own."""
    _stage, (record,) = deals(tenant_a, admin, 1, name="Alphadeal")
    other_admin = admin_of(tenant_b)
    _other_stage, (twin,) = deals(tenant_b, other_admin, 1, name="Betadeal")
    with tenant_context(tenant_b):
        from crm_apps.modules.deals.models import StageHistory

        StageHistory.objects.filter(deal_id=twin.pk).delete()  # its only reference, which would not follow the id
        DEALS.model.objects.filter(pk=twin.pk).update(id=record.pk)

    in_a = card_of(client_for(tenant_a, admin).get("/m/deals/board/").content.decode(), record.pk)
    in_b = card_of(client_for(tenant_b, other_admin).get("/m/deals/board/").content.decode(), record.pk)

    assert "Alphadeal" in in_a and "Betadeal" not in in_a
    assert "Betadeal" in in_b and "Alphadeal" not in in_b


def test_the_key_of_every_card_and_head_names_the_tenants_schema(tenant_a, tenant_b):
    """Records of two workspaces can be equal value for value; the page key (first in every card's and head's
    key) tells them apart."""
    from crm_apps.engine.list_rows import page_key

    keys = {}
    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            keys[tenant.schema_name] = page_key(DEALS, ())

    assert keys[tenant_a.schema_name] != keys[tenant_b.schema_name]
    assert all(key is not None and key[0] == schema for schema, key in keys.items())


def test_an_administrators_column_settings_return_to_the_board_they_came_from(web, tenant_a, admin):
    """The head's settings form carries the page's own address: a head kept from the plain board is not served
    on a searched one."""
    stage, _made = deals(tenant_a, admin, 1, name="Acme renewal")
    plain = head_of(web.get("/m/deals/board/").content.decode(), stage.pk)
    searched = head_of(web.get("/m/deals/board/?q=Acme").content.decode(), stage.pk)
    plain_again = web.get("/m/deals/board/")

    assert 'name="next" value="/m/deals/board/"' in plain
    assert 'name="next" value="/m/deals/board/?q=Acme"' in searched
    assert untokened(head_of(plain_again.content.decode(), stage.pk)) == untokened(plain)
    assert str(plain_again.context["csrf_token"]) in head_of(plain_again.content.decode(), stage.pk)
