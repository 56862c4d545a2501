"""The board's cards are built in Python (engine.board_html) and must be what the template they replace
rendered, byte for byte: the template is kept here as the reference and rendered with the page's own context
(its CSRF token, language, member formats), for members with every combination of rights."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.template import engines
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.board import CARDS_PER_COLUMN
from crm_apps.engine.models import BoardColumnSetting
from crm_apps.engine.services import record_create

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")

# engine/_board_cards.html as it was before the cards were built in Python (its comment left out).
REFERENCE = (Path(__file__).parent / "board_cards_reference.html").read_text()
# engine/_board_columns.html as it was before the columns were built in Python (comment left out, amounts through
# floatformat as then): the columns' HTML, cards included, must be its output.
COLUMNS_REFERENCE = (Path(__file__).parent / "board_columns_reference.html").read_text()


def reference(response, col, source=REFERENCE):
    """The reference template rendered with the response's own context (its CSRF token too) for one column,
    in the member's language and formats as the page was."""
    from django.template import Context
    from django.utils import translation

    from crm_apps.access.formats import formats_activate, formats_deactivate

    contexts = response.context if isinstance(response.context, list) else [response.context]
    values = {**next(c for c in contexts if "columns" in c).flatten(), "col": col}
    member = values["request"].member
    template = engines["django"].from_string(source).template  # type: ignore[attr-defined]
    token = formats_activate(member)
    try:
        with translation.override(member.language):
            return template.render(Context(values, autoescape=True))
    finally:
        formats_deactivate(token)


def deals(tenant, actor, count, *, owner_group=None, name="Card", **extra):
    """`count` deals in the default pipeline's first stage (owned by `owner_group` when given)."""
    from crm_apps.modules.deals.models import Pipeline

    with tenant_context(tenant):
        stage = Pipeline.objects.get(is_default=True).stages.order_by("position", "id").first()
        assert stage is not None
        made = []
        for i in range(count):
            data = {
                "name": f"{name} {i:02d}",
                "close_date": (dt.date(2027, 1, 1) + dt.timedelta(days=i)).isoformat(),
                "stage": stage.pk,
                **extra,
            }
            made.append(record_create(spec=DEALS, actor=actor, data=data))
        if owner_group is not None:
            DEALS.model.objects.filter(pk__in=[d.pk for d in made]).update(owner=None, owner_group=owner_group)
    return stage, made


def assert_cards_match(response):
    body = response.content.decode()
    columns = response.context["columns"]
    assert columns
    for col in columns:
        expected = reference(response, col)
        assert expected in body, col["value"]
    # and every column, head and cards, is the columns' reference template's output
    assert reference(response, None, COLUMNS_REFERENCE) in body
    return body


def test_cards_are_the_reference_templates_output_for_the_admin(client_for, tenant_a, admin):
    from crm_apps.access.models import Group

    with tenant_context(tenant_a):
        group = Group.objects.create(name="<Équipe> & co")
    stage, made = deals(tenant_a, admin, CARDS_PER_COLUMN + 2, name='<b>"Deal"</b> & Co', amount="1234.5")
    deals(tenant_a, admin, 2, owner_group=group, name="Grouped")
    with tenant_context(tenant_a):
        DEALS.model.objects.filter(pk=made[0].pk).update(created_at=timezone.now() - dt.timedelta(days=9))
        DEALS.model.objects.filter(pk=made[1].pk).update(amount=None)
        BoardColumnSetting.objects.create(module="deals", field="stage", value=str(stage.pk), rotting_days=3)
    web = client_for(tenant_a, admin)

    page = web.get("/m/deals/board/", {"q": "Deal & <Co>"})
    plain = web.get("/m/deals/board/")
    body = assert_cards_match(page) + assert_cards_match(plain)

    assert "&lt;b&gt;&quot;Deal&quot;&lt;/b&gt; &amp;amp; Co" not in body  # escaped once, not twice
    assert "&lt;b&gt;&quot;Deal&quot;&lt;/b&gt; &amp; Co" in body
    assert "board__card--rotting" in body and "data-board-more" in body
    assert "&lt;Équipe&gt; &amp; co" in body
    cursor = next(c["more"] for c in plain.context["columns"] if c["more"])
    more = web.get("/m/deals/board/cards/", {"value": stage.pk, "after": cursor, "q": "x&y"})
    assert more.status_code == 200
    assert more.content.decode() == reference(more, more.context["col"])


def test_cards_are_the_reference_templates_output_for_a_member_in_russian_with_their_formats(
    client_for, tenant_a, admin, member
):
    from crm_apps.access.models import Member
    from crm_apps.engine.tests.test_lists import restricted_member

    reader = restricted_member(tenant_a, admin, member, field="amount", access="readonly", module="deals")
    with tenant_context(tenant_a):
        Member.objects.filter(pk=reader.pk).update(language="ru", number_format="space_comma", date_format="iso")
    deals(tenant_a, admin, 3, amount="98765.43", owner=reader.pk)

    page = client_for(tenant_a, reader).get("/m/deals/board/")
    body = assert_cards_match(page)

    assert "98\xa0765,43" in body
    assert "2027-01-01" in body
    assert '/cell/amount/"' not in body  # read-only for this member: no quick edit


def test_cards_without_move_rights_have_no_menu_and_match_the_reference(client_for, tenant_a, admin, member):
    from crm_apps.engine.tests.test_lists import restricted_member

    reader = restricted_member(tenant_a, admin, member, field="stage", access="readonly", module="deals")
    deals(tenant_a, admin, 2, owner=reader.pk)

    page = client_for(tenant_a, reader).get("/m/deals/board/")
    body = assert_cards_match(page)

    assert page.context["can_move"] is False
    assert "board__move" not in body and 'draggable="true"' not in body


def test_column_heads_with_currencies_rates_weights_and_empty_columns_match_the_reference(
    client_for, tenant_a, admin, member
):
    from crm_apps.engine.models import Currency

    with tenant_context(tenant_a):
        Currency.objects.create(code="EUR", is_base=True, rate=1)
        Currency.objects.create(code="USD", rate="0.9")
    stage, _made = deals(tenant_a, admin, 3, amount="1234567.89", currency="EUR", probability=40)
    deals(tenant_a, admin, 2, amount="10.5", currency="USD", probability=10)
    deals(tenant_a, admin, 1, amount="99.99", currency="GBP")  # no rate: named, never converted
    with tenant_context(tenant_a):
        BoardColumnSetting.objects.create(module="deals", field="stage", value=str(stage.pk), rotting_days=1)
    web = client_for(tenant_a, admin)

    page = web.get("/m/deals/board/", {"q": "Card"})
    body = assert_cards_match(page)
    # the totals converted where a rate exists, the rest named; weighted sums; empty columns; the settings form
    assert "no rate for GBP" in body and " +</span>" in body
    assert "≈ " in body and "No records here." in body
    assert 'name="rotting_days" min="1" max="3650" value="1"' in body
    assert "csrfmiddlewaretoken" in body

    # Without a base currency: the totals per currency
    with tenant_context(tenant_a):
        Currency.objects.all().delete()
    body = assert_cards_match(web.get("/m/deals/board/"))
    assert "EUR, " in body or "EUR</span>" in body

    # A member (no settings form) in Russian with their own number format sees the same as the template showed
    from crm_apps.access.models import Member

    seller = member(tenant_a)
    with tenant_context(tenant_a):
        Member.objects.filter(pk=seller.pk).update(language="ru", number_format="dot_comma")
        DEALS.model.objects.update(owner=seller)
    body = assert_cards_match(client_for(tenant_a, seller).get("/m/deals/board/"))
    assert "board__settings" not in body
    assert "1.234.567,89" in body and "3.703.704" in body


def test_the_columns_after_a_card_moved_are_the_reference_templates_output(client_for, tenant_a, admin):
    stage, made = deals(tenant_a, admin, CARDS_PER_COLUMN + 3, amount="5")
    web = client_for(tenant_a, admin)
    page = web.get("/m/deals/board/")
    target = next(c for c in page.context["columns"] if c["value"] != stage.pk)
    moved = web.post(f"/m/deals/{made[0].pk}/board-move/", {"value": target["value"]}, HTTP_HX_REQUEST="true")
    assert moved.status_code == 200
    body = moved.content.decode()
    assert body == reference(moved, None, COLUMNS_REFERENCE)
    assert "All " in body  # more records than cards in the first column: the link to the list
