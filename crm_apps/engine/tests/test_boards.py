"""Boards: by any picklist field, totals per currency converted into the base currency, days in a column
and rotting, quick edit on cards, the currencies and column settings, pinned query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from conftest import statements
from crm_apps.engine import metadata, registry
from crm_apps.engine.currency import Rates, convert
from crm_apps.engine.models import BoardColumnSetting, Currency
from crm_apps.engine.services import record_create, record_update

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")
VENDORS = registry.get("vendors")


def deal(tenant, actor, **extra):
    with tenant_context(tenant):
        return record_create(spec=DEALS, actor=actor, data={"name": "D", "close_date": "2027-01-01", **extra})


def column(response, value):
    return next(c for c in response.context["columns"] if c["value"] == value)


def test_convert_sums_each_currency_at_its_rate_with_decimals():
    table = Rates(base="EUR", rates={"EUR": Decimal(1), "USD": Decimal("0.9123456789")})

    converted = convert({"EUR": Decimal("10.005"), "USD": Decimal("100"), "GBP": Decimal(5)}, table)
    no_base = convert({"USD": Decimal(1)}, Rates(base=None))

    assert converted.total == Decimal("101.24")  # 10.005 + 91.23456789, rounded once
    assert converted.missing == ("GBP",)
    assert (no_base.total, no_base.missing) == (None, ("USD",))


def test_column_totals_are_converted_into_the_base_currency_with_a_per_currency_breakdown(web, tenant_a, admin):
    with tenant_context(tenant_a):
        Currency.objects.create(code="EUR", rate=1, is_base=True)
        Currency.objects.create(code="USD", rate=Decimal("0.9"))
    first = deal(tenant_a, admin, amount="100", currency="EUR")
    deal(tenant_a, admin, amount="200", currency="USD")
    deal(tenant_a, admin, amount="50.50", currency="USD")

    page = web.get("/m/deals/board/")
    col = column(page, first.stage_id)

    assert col["by_currency"] == [("EUR", Decimal("100.00")), ("USD", Decimal("250.50"))]
    assert col["converted"].total == Decimal("325.45")  # 100 + 250.50 * 0.9
    assert col["converted"].missing == ()
    body = page.content.decode()
    assert "325 EUR" in body
    assert 'title="100.00 EUR, 250.50 USD"' in body


def test_without_a_base_currency_totals_stay_per_currency(web, tenant_a, admin):
    first = deal(tenant_a, admin, amount="100", currency="EUR")
    deal(tenant_a, admin, amount="200", currency="USD")

    page = web.get("/m/deals/board/")

    assert column(page, first.stage_id)["converted"].total is None
    assert "100 EUR, 200 USD" in page.content.decode()
    assert "Set the base currency and rates" in page.content.decode()


def test_a_currency_without_a_rate_is_named_not_guessed(web, tenant_a, admin):
    with tenant_context(tenant_a):
        Currency.objects.create(code="EUR", rate=1, is_base=True)
    first = deal(tenant_a, admin, amount="100", currency="EUR")
    deal(tenant_a, admin, amount="7", currency="JPY")

    col = column(web.get("/m/deals/board/"), first.stage_id)

    assert (col["converted"].total, col["converted"].missing) == (Decimal("100.00"), ("JPY",))


def test_days_in_column_count_from_the_last_move_and_rot_after_the_threshold(web, tenant_a, admin):
    old = deal(tenant_a, admin, name="Old")
    moved = deal(tenant_a, admin, name="Moved")
    with tenant_context(tenant_a):
        stages = list(old.pipeline.stages.order_by("position"))
        ten_days_ago = timezone.now() - dt.timedelta(days=10)
        DEALS.model.objects.filter(pk__in=[old.pk, moved.pk]).update(created_at=ten_days_ago)
        # "Moved" left the first stage and came back today: its days count from the move.
        for target in (stages[1], stages[0]):
            fresh = DEALS.model.objects.get(pk=moved.pk)
            record_update(spec=DEALS, actor=admin, record=fresh, data={"stage": target.pk})
        BoardColumnSetting.objects.create(module="deals", field="stage", value=str(stages[0].pk), rotting_days=5)

    page = web.get("/m/deals/board/")
    cards = {c["record"].name: c for c in column(page, stages[0].pk)["card_info"]}

    assert (cards["Old"]["days"], cards["Old"]["rotting"]) == (10, True)
    assert (cards["Moved"]["days"], cards["Moved"]["rotting"]) == (0, False)
    assert column(page, stages[0].pk)["rotting_days"] == 5
    assert "board__card--rotting" in page.content.decode()


def test_admins_set_the_rotting_threshold_members_may_not(client_for, web, tenant_a, admin, member):
    first = deal(tenant_a, admin)
    url = "/m/deals/board/column/"
    payload = {"field": "stage", "value": str(first.stage_id), "rotting_days": "7"}

    refused = client_for(tenant_a, member(tenant_a)).post(url, payload)
    bad = web.post(url, {**payload, "rotting_days": "-3"})
    with tenant_context(tenant_a):
        after_refusals = BoardColumnSetting.objects.count()
    saved = web.post(url, payload)

    assert refused.status_code == 403
    assert bad.status_code == 302
    assert after_refusals == 0
    assert saved.status_code == 302
    with tenant_context(tenant_a):
        assert BoardColumnSetting.objects.get().rotting_days == 7


def test_a_board_for_any_picklist_field_and_moves_through_record_update(web, tenant_a, admin):
    with tenant_context(tenant_a):
        vendor = record_create(spec=VENDORS, actor=admin, data={**VENDORS.example})
        values = [v.value for v in metadata.picklist_values("vendor_category") if not v.retired]
    board = web.get("/m/vendors/board/?field=category")
    moved = web.post(
        f"/m/vendors/{vendor.pk}/board-move/?field=category", {"value": values[-1]}, HTTP_HX_REQUEST="true"
    )

    assert board.status_code == 200
    assert [c["value"] for c in board.context["columns"]] == values
    assert moved.status_code == 200
    assert [r.pk for r, _url in column(moved, values[-1])["cards"]] == [vendor.pk]
    with tenant_context(tenant_a):
        assert VENDORS.model.objects.get(pk=vendor.pk).category == values[-1]
    # Without a picklist field to group by there is no board; an unknown field falls back to the kanban field.
    assert web.get("/m/vendors/board/").status_code == 404
    assert web.get("/m/deals/board/?field=nope").context["board_field"] == "stage"


def test_deals_grouped_by_type_move_by_plain_update(web, tenant_a, admin):
    record = deal(tenant_a, admin, type="New Business")

    page = web.get("/m/deals/board/?field=type")
    moved = web.post(f"/m/deals/{record.pk}/board-move/?field=type", {"value": "Existing Business"})

    assert "Existing Business" in [c["value"] for c in page.context["columns"]]
    assert moved.status_code == 302
    assert moved["Location"] == "/m/deals/board/?field=type"
    with tenant_context(tenant_a):
        stored = DEALS.model.objects.get(pk=record.pk)
        assert (stored.type, stored.stage_id) == ("Existing Business", record.stage_id)


def test_cards_offer_quick_edit_of_amount_and_close_date_only_to_who_may(client_for, web, tenant_a, admin, member):
    from crm_apps.engine.tests.test_lists import restricted_member

    record = deal(tenant_a, admin, amount="10")
    reader = restricted_member(tenant_a, admin, member, field="amount", access="readonly", module="deals")

    mine = web.get("/m/deals/board/").content.decode()
    theirs = client_for(tenant_a, reader).get("/m/deals/board/").content.decode()
    saved = web.post(f"/m/deals/{record.pk}/cell/amount/", {"amount": "1234.50", "version": record.version})
    refused = client_for(tenant_a, reader).post(f"/m/deals/{record.pk}/cell/amount/", {"amount": "1"})

    assert f'data-edit="/m/deals/{record.pk}/cell/amount/"' in mine
    assert f'data-edit="/m/deals/{record.pk}/cell/close_date/"' in mine
    assert f'data-edit="/m/deals/{record.pk}/cell/amount/"' not in theirs
    assert f'data-edit="/m/deals/{record.pk}/cell/close_date/"' in theirs
    assert (saved.status_code, refused.status_code) == (200, 403)
    with tenant_context(tenant_a):
        assert DEALS.model.objects.get(pk=record.pk).amount == Decimal("1234.50")


def test_currencies_settings_page(web, client_for, tenant_a, member):
    added = web.post("/settings/modules/currencies/", {"code": "eur", "rate": "1", "is_base": "1"})
    usd = web.post("/settings/modules/currencies/", {"code": "USD", "rate": "0,92"})
    bad = web.post("/settings/modules/currencies/", {"code": "DOLLARS", "rate": "-1"})
    refused = client_for(tenant_a, member(tenant_a)).post("/settings/modules/currencies/", {"code": "GBP", "rate": "1"})

    assert (added.status_code, usd.status_code, bad.status_code, refused.status_code) == (302, 302, 400, 403)
    assert set(bad.context["errors"]) == {"code", "rate"}
    with tenant_context(tenant_a):
        assert list(Currency.objects.values_list("code", "rate", "is_base")) == [
            ("EUR", Decimal("1.0000000000"), True),
            ("USD", Decimal("0.9200000000"), False),
        ]


def test_board_settings_of_another_tenant_never_apply(client_for, tenant_a, tenant_b, admin, admin_of):
    first = deal(tenant_a, admin, amount="100", currency="EUR")
    with tenant_context(tenant_b):
        Currency.objects.create(code="USD", rate=1, is_base=True)
        BoardColumnSetting.objects.create(module="deals", field="stage", value=str(first.stage_id), rotting_days=1)
    other = client_for(tenant_b, admin_of(tenant_b))

    page = client_for(tenant_a, admin).get("/m/deals/board/")
    foreign_move = other.post(f"/m/deals/{first.pk}/board-move/", {"value": first.stage_id})

    assert page.context["base_currency"] is None
    assert column(page, first.stage_id)["rotting_days"] is None
    assert foreign_move.status_code == 404


# Statements of the deals board for an admin: session with member and user, versions, pipelines, stages,
# column totals, cards, days in column, rotting thresholds, currencies. The same with 3 cards or 30. The column
# totals are cached per member until the next write (engine.record_versions): one statement fewer until then.
BOARD_QUERIES = 8
BOARD_QUERIES_CACHED = BOARD_QUERIES - 1


def test_board_query_count_is_pinned(web, tenant_a, admin):
    for _n in range(3):
        deal(tenant_a, admin, amount="5", currency="EUR")
    web.get("/m/deals/board/")  # definitions are loaded once per metadata version: warm them first
    with CaptureQueriesContext(connection) as few:
        web.get("/m/deals/board/")
    for _n in range(12):
        deal(tenant_a, admin, amount="5", currency="USD")
    with CaptureQueriesContext(connection) as written:
        web.get("/m/deals/board/?field=stage")
    with CaptureQueriesContext(connection) as many:
        web.get("/m/deals/board/?field=stage")

    assert len(statements(few)) == BOARD_QUERIES_CACHED, [q[:100] for q in statements(few)]
    # A write gives new record stamps: the totals are read again, then cached again.
    assert len(statements(written)) == BOARD_QUERIES, [q[:100] for q in statements(written)]
    assert len(statements(many)) == BOARD_QUERIES_CACHED


def test_column_totals_follow_every_write_and_access_change(client_for, web, tenant_a, admin, member):
    from crm_apps.access.services import sharing_default_set

    first = deal(tenant_a, admin, amount="5", currency="EUR")
    with tenant_context(tenant_a):
        other_stage = first.pipeline.stages.exclude(pk=first.stage_id).order_by("position").first()
    rep = member(tenant_a)
    theirs = client_for(tenant_a, rep)

    before = column(web.get("/m/deals/board/"), first.stage_id)
    deal(tenant_a, admin, amount="7", currency="EUR")
    added = column(web.get("/m/deals/board/"), first.stage_id)
    moved = web.post(f"/m/deals/{first.pk}/board-move/", {"value": other_stage.pk}, HTTP_HX_REQUEST="true")
    shared = column(theirs.get("/m/deals/board/"), other_stage.pk)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private", follow_parent=False)
    private = column(theirs.get("/m/deals/board/"), other_stage.pk)

    assert (before["count"], before["by_currency"]) == (1, [("EUR", Decimal("5.00"))])
    assert (added["count"], added["by_currency"]) == (2, [("EUR", Decimal("12.00"))])
    assert (column(moved, first.stage_id)["count"], column(moved, other_stage.pk)["count"]) == (1, 1)
    # Another member's totals are their own, and follow a change of sharing at once.
    assert shared["count"] == 1
    assert private["count"] == 0 and private["card_info"] == []


def _stage_deals(tenant, actor, count, *, stage=None, owner=None, name="Card", organization=None):
    """`count` deals in `stage` (the default pipeline's first stage), closing one day apart."""
    from crm_apps.modules.deals.models import Pipeline

    with tenant_context(tenant):
        stage = stage or Pipeline.objects.get(is_default=True).stages.order_by("position", "id").first()
        made = []
        for i in range(count):
            extra = {"owner": owner.pk} if owner is not None else {}
            if organization is not None:
                extra["organization"] = organization.pk
            made.append(
                record_create(
                    spec=DEALS,
                    actor=actor,
                    data={
                        "name": f"{name} {i:02d}",
                        "close_date": (dt.date(2027, 1, 1) + dt.timedelta(days=i)).isoformat(),
                        "stage": stage.pk,
                        **extra,
                    },
                )
            )
    return stage, made


def test_a_column_shows_its_first_cards_and_load_more_brings_the_rest_in_order(web, tenant_a, admin):
    from crm_apps.engine.board import CARDS_PER_COLUMN

    stage, made = _stage_deals(tenant_a, admin, CARDS_PER_COLUMN + 3)

    page = web.get("/m/deals/board/")
    first = column(page, stage.pk)
    more = web.get("/m/deals/board/cards/", {"value": stage.pk, "after": first["more"]}, HTTP_HX_REQUEST="true")
    rest = more.context["col"]

    assert [c["record"].pk for c in first["card_info"]] == [d.pk for d in made[:CARDS_PER_COLUMN]]
    assert first["count"] == CARDS_PER_COLUMN + 3
    assert "data-board-more" in page.content.decode()
    assert more.status_code == 200
    assert [c["record"].pk for c in rest["card_info"]] == [d.pk for d in made[CARDS_PER_COLUMN:]]
    assert rest["more"] is None and "data-board-more" not in more.content.decode()
    # The next cards are full cards: title link, amount and date editors, the move menu.
    assert f'data-card="{made[-1].pk}"' in more.content.decode()
    assert f'data-edit="/m/deals/{made[-1].pk}/cell/amount/"' in more.content.decode()
    assert f'id="move-{made[-1].pk}"' in more.content.decode()
    # A column without more cards has no button.
    assert all(c["more"] is None for c in page.context["columns"] if c["value"] != stage.pk)


def test_load_more_shows_only_cards_the_member_may_see(client_for, tenant_a, admin, member):
    from crm_apps.access.services import sharing_default_set
    from crm_apps.engine.board import CARDS_PER_COLUMN

    rep = member(tenant_a)
    other = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private", follow_parent=False)
    stage, theirs = _stage_deals(tenant_a, admin, CARDS_PER_COLUMN + 2, owner=other, name="Theirs")
    _stage, mine = _stage_deals(tenant_a, admin, CARDS_PER_COLUMN + 2, stage=stage, owner=rep, name="Mine")
    web = client_for(tenant_a, rep)

    page = web.get("/m/deals/board/")
    first = column(page, stage.pk)
    more = web.get("/m/deals/board/cards/", {"value": stage.pk, "after": first["more"]})
    # A cursor taken from somebody else's board (the admin's, who sees every deal) still shows only mine.
    admin_first = column(client_for(tenant_a, admin).get("/m/deals/board/"), stage.pk)
    foreign_cursor = web.get("/m/deals/board/cards/", {"value": stage.pk, "after": admin_first["more"]})

    seen = {c["record"].pk for c in first["card_info"]} | {c["record"].pk for c in more.context["col"]["card_info"]}
    assert seen == {d.pk for d in mine}
    assert first["count"] == len(mine)
    assert {c["record"].pk for c in foreign_cursor.context["col"]["card_info"]} <= {d.pk for d in mine}
    assert not any(str(d.pk) in more.content.decode() for d in theirs)


@pytest.mark.parametrize(
    "params",
    [
        {"value": "999999", "after": "bm9wZQ=="},  # no such column
        {"after": "not base64 at all"},
        {"after": "WyJwIiwgIjIwMjctMDEtMDEiXQ=="},  # ["p", "2027-01-01"]: backwards, too short
        {"after": ""},
    ],
)
def test_load_more_refuses_a_bad_column_or_cursor_with_a_400(web, tenant_a, admin, params):
    stage, _made = _stage_deals(tenant_a, admin, 1)

    response = web.get("/m/deals/board/cards/", {"value": stage.pk, **params})

    assert response.status_code == 400
    assert response.content


def test_load_more_of_another_tenants_column_shows_nothing_of_it(client_for, tenant_a, tenant_b, admin, admin_of):
    from crm_apps.engine.board import CARDS_PER_COLUMN

    stage, made = _stage_deals(tenant_a, admin, CARDS_PER_COLUMN + 2)
    cursor = column(client_for(tenant_a, admin).get("/m/deals/board/"), stage.pk)["more"]

    foreign = client_for(tenant_b, admin_of(tenant_b)).get(
        "/m/deals/board/cards/", {"value": stage.pk, "after": cursor}
    )

    assert foreign.status_code in (200, 400)
    assert not any(str(d.pk) in foreign.content.decode() for d in made)


# Statements of "Load more": session with member and user, versions, pipelines, stages, cards, days in
# column, rotting thresholds. The same for 3 cards or 20.
LOAD_MORE_QUERIES = 6


def test_load_more_query_count_is_pinned(web, tenant_a, admin):
    from crm_apps.engine.board import CARDS_PER_COLUMN

    stage, _made = _stage_deals(tenant_a, admin, CARDS_PER_COLUMN + 3)
    cursor = column(web.get("/m/deals/board/"), stage.pk)["more"]
    with CaptureQueriesContext(connection) as few:
        web.get("/m/deals/board/cards/", {"value": stage.pk, "after": cursor})
    _stage_deals(tenant_a, admin, CARDS_PER_COLUMN, stage=stage, name="Later")
    with CaptureQueriesContext(connection) as many:
        web.get("/m/deals/board/cards/", {"value": stage.pk, "after": cursor})

    assert len(statements(few)) == LOAD_MORE_QUERIES, [q[:100] for q in statements(few)]
    assert len(statements(many)) == LOAD_MORE_QUERIES


def test_a_board_of_a_module_with_its_own_titles_reads_whole_cards_once(web, tenant_a, admin):
    """Calls write their title from direction and number, columns a card does not name: the board reads the
    whole rows, so 3 cards or 15 cost the same statements (not one query per missing column per card)."""
    calls = registry.get("calls")

    def call(number):
        with tenant_context(tenant_a):
            data = {"direction": "Inbound", "status": "Answered", "from_number": number}
            return record_create(spec=calls, actor=admin, data=data)

    for n in range(3):
        call(f"+4930{n:06d}")
    web.get("/m/calls/board/?field=status")
    with CaptureQueriesContext(connection) as few:
        page = web.get("/m/calls/board/?field=status")
    for n in range(12):
        call(f"+4940{n:06d}")
    web.get("/m/calls/board/?field=status")  # a write renews the record stamps: totals read once more
    with CaptureQueriesContext(connection) as many:
        more = web.get("/m/calls/board/?field=status")

    assert page.status_code == more.status_code == 200
    assert "+4930000000" in page.content.decode() and "+4940000011" in more.content.decode()
    assert len(statements(many)) == len(statements(few)), [q[:100] for q in statements(many)]


def test_the_cards_statement_is_kept_per_member_and_still_shows_every_write(
    client_for, web, tenant_a, admin, member, compiles
):
    from crm_apps.access.services import sharing_default_set

    compiled = compiles
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private")
    mine = deal(tenant_a, admin, amount="5", currency="EUR")
    theirs_deal = deal(tenant_a, rep, amount="6", currency="EUR")

    def cards(client):
        response = client.get("/m/deals/board/")
        return {info["record"].pk for c in response.context["columns"] for info in c["card_info"]}

    # Given the admin's board, read twice
    first, again = cards(web), cards(web)
    unions = [sql for sql in compiled if "UNION" in sql]
    # When a deal is added, and another member (who sees only their own deals) opens the board
    added = deal(tenant_a, admin, amount="7", currency="EUR")
    after = cards(web)
    rep_cards = cards(client_for(tenant_a, rep))
    # Then the cards' statement was compiled once for the admin and run again each time (the new deal is
    # there), and the member got a statement of their own with their visibility
    assert first == again == {mine.pk, theirs_deal.pk} and len(unions) == 1
    assert after == {mine.pk, theirs_deal.pk, added.pk}
    assert rep_cards == {theirs_deal.pk}
    assert len([sql for sql in compiled if "UNION" in sql]) == 2
