"""Issue 19's sales fixes: deals start in the base currency (also through the API), board and home totals
converted at the stored rate (the weighted total too), and the pipeline and stage editor in Settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.models import Currency
from crm_apps.engine.services import record_create
from crm_apps.modules.deals.models import Pipeline, Stage
from crm_apps.modules.deals.services import default_pipeline

pytestmark = pytest.mark.django_db


def deal(tenant: Any, actor: Any, **data: Any) -> Any:
    with tenant_context(tenant):
        values = {"name": "Deal", "amount": "100", "close_date": timezone.localdate().isoformat(), **data}
        return record_create(spec=registry.get("deals"), actor=actor, data=values)


def rates(tenant: Any) -> None:
    with tenant_context(tenant):
        Currency.objects.create(code="EUR", rate=1, is_base=True)
        Currency.objects.create(code="USD", rate=Decimal("0.5"))


def test_a_deal_created_through_the_api_without_a_currency_is_in_the_base_currency(client_for, tenant_a, admin_of):
    api = client_for(tenant_a, admin_of(tenant_a))
    before = api.post(
        "/api/v1/deals/", {"name": "No base yet", "close_date": "2027-01-31"}, content_type="application/json"
    )
    with tenant_context(tenant_a):
        Currency.objects.create(code="EUR", rate=1, is_base=True)

    created = api.post(
        "/api/v1/deals/", {"name": "Euro deal", "close_date": "2027-01-31"}, content_type="application/json"
    )
    explicit = api.post(
        "/api/v1/deals/",
        {"name": "Dollar deal", "close_date": "2027-01-31", "currency": "USD"},
        content_type="application/json",
    )
    form = api.get("/m/deals/new/")

    assert before.json()["currency"] == "USD"
    assert created.status_code == 201 and created.json()["currency"] == "EUR"
    assert explicit.json()["currency"] == "USD"
    assert 'value="EUR"' in form.content.decode()


def test_board_totals_and_weighted_totals_are_converted_into_the_base_currency(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    rates(tenant_a)
    first = deal(tenant_a, admin, amount="100", currency="EUR", probability=50)
    deal(tenant_a, admin, amount="200", currency="USD", probability=50, stage=first.stage_id)

    page = client_for(tenant_a, admin).get("/m/deals/board/")
    column = next(c for c in page.context["columns"] if c["value"] == first.stage_id)

    assert column["converted"].total == Decimal("200.00")  # 100 EUR + 200 USD x 0.5
    assert column["weighted_converted"].total == Decimal("100.00")  # 50 EUR + 100 USD x 0.5
    assert column["weighted_by_currency"] == [("EUR", Decimal("50.00")), ("USD", Decimal("100.00"))]
    assert "≈ 100 EUR" in page.content.decode()


def test_home_totals_are_converted_into_the_base_currency_and_name_missing_rates(client_for, tenant_a, member):
    rep = member(tenant_a)
    rates(tenant_a)
    deal(tenant_a, rep, amount="100", currency="EUR")
    deal(tenant_a, rep, amount="300", currency="USD")
    deal(tenant_a, rep, amount="7", currency="GBP")

    page = client_for(tenant_a, rep).get("/")
    widgets = {w.key: w.data for w in page.context["widgets"]}
    closing, open_deals = widgets["deals-closing_this_month"], widgets["deals-open_deals"]

    assert (closing["converted"].total, closing["converted"].missing) == (Decimal("250.00"), ("GBP",))
    assert closing["base_currency"] == "EUR"
    assert open_deals["rows"][0]["converted"].total == Decimal("250.00")
    html = page.content.decode()
    assert "250.00 EUR" in html and "no rate" in html


@pytest.fixture
def editor(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def test_admins_create_pipelines_and_edit_stages_in_the_ui(editor, tenant_a):
    page = editor.get("/settings/modules/deals/pipelines/")
    created = editor.post("/settings/modules/deals/pipelines/", {"action": "pipeline_create", "name": "Renewals"})
    with tenant_context(tenant_a):
        renewals = Pipeline.objects.get(name="Renewals")
        new, won, lost = renewals.stages.order_by("position")
    added = editor.post(
        "/settings/modules/deals/pipelines/",
        {"action": "stage_add", "pipeline": renewals.pk, "name": "Quoted", "probability": "60", "outcome": "open"},
    )
    renamed = editor.post(
        "/settings/modules/deals/pipelines/",
        {
            "action": "stage_save",
            "pipeline": renewals.pk,
            "stage": new.pk,
            "name": "Contacted",
            "probability": "20",
            "outcome": "open",
        },
    )
    bad = editor.post(
        "/settings/modules/deals/pipelines/",
        {
            "action": "stage_save",
            "pipeline": renewals.pk,
            "stage": won.pk,
            "name": "Won",
            "probability": "150",
            "outcome": "won",
        },
    )
    with tenant_context(tenant_a):
        quoted = renewals.stages.get(name="Quoted")
    moved = editor.post(
        "/settings/modules/deals/pipelines/", {"action": "stage_up", "pipeline": renewals.pk, "stage": quoted.pk}
    )
    dragged = editor.post(
        "/settings/modules/deals/pipelines/",
        {"action": "stages_reorder", "pipeline": renewals.pk, "order": f"{quoted.pk},{new.pk},{won.pk},{lost.pk}"},
        HTTP_ACCEPT="application/json",
    )
    wrong_order = editor.post(
        "/settings/modules/deals/pipelines/",
        {"action": "stages_reorder", "pipeline": renewals.pk, "order": f"{quoted.pk},{new.pk}"},
    )
    default = editor.post(
        "/settings/modules/deals/pipelines/",
        {"action": "pipeline_update", "pipeline": renewals.pk, "name": "Renewals 2027", "is_default": "1"},
    )

    assert page.status_code == 200 and "Pipelines" in page.content.decode()
    assert all(r.status_code == 302 for r in (created, added, renamed, moved, default))
    assert dragged.status_code == 204
    assert bad.status_code == 400 and "probability" in bad.context["errors"]
    assert wrong_order.status_code == 400
    with tenant_context(tenant_a):
        stages = list(Stage.objects.filter(pipeline=renewals).order_by("position"))
        assert [(s.name, s.probability, s.is_won, s.is_lost) for s in stages] == [
            ("Quoted", 60, False, False),
            ("Contacted", 20, False, False),
            ("Won", 100, True, False),
            ("Lost", 0, False, True),
        ]
        assert default_pipeline().name == "Renewals 2027"


def test_a_stage_in_use_stays_and_the_default_pipeline_cannot_be_archived(editor, tenant_a, admin_of):
    deal_on_it = deal(tenant_a, admin_of(tenant_a))
    with tenant_context(tenant_a):
        pipeline = default_pipeline()

    remove = editor.post(
        "/settings/modules/deals/pipelines/",
        {"action": "stage_delete", "pipeline": pipeline.pk, "stage": deal_on_it.stage_id},
    )
    archive = editor.post(
        "/settings/modules/deals/pipelines/",
        {"action": "pipeline_update", "pipeline": pipeline.pk, "name": pipeline.name, "archived": "1"},
    )

    assert remove.status_code == 400 and "stage" in remove.context["errors"]
    assert archive.status_code == 400 and "archived" in archive.context["errors"]
    with tenant_context(tenant_a):
        assert Stage.objects.filter(pk=deal_on_it.stage_id).exists()
        assert not Pipeline.objects.get(pk=pipeline.pk).archived


def test_members_without_the_settings_privilege_cannot_use_the_editor(client_for, tenant_a, member):
    web = client_for(tenant_a, member(tenant_a))
    with tenant_context(tenant_a):
        pipeline = default_pipeline()
        names = list(pipeline.stages.values_list("name", flat=True))

    page = web.get("/settings/modules/deals/pipelines/")
    post = web.post("/settings/modules/deals/pipelines/", {"action": "stage_add", "pipeline": pipeline.pk, "name": "X"})

    assert page.status_code == 403 and post.status_code == 403
    with tenant_context(tenant_a):
        assert list(pipeline.stages.values_list("name", flat=True)) == names
