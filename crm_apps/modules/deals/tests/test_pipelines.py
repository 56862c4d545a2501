from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.deals.models import Pipeline, StageHistory
from crm_apps.modules.deals.services import pipeline_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def deal(api, **extra):
    body = {"name": "Hammocks", "close_date": "2027-01-31", **extra}
    response = api.post("/api/v1/deals/", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_new_deal_without_stage_gets_the_first_stage_of_the_default_pipeline(api, tenant_a):
    created = deal(api, amount="1000")
    pipelines = api.get("/api/v1/pipelines/").json()["results"]

    default = next(p for p in pipelines if p["is_default"])
    assert created["pipeline"] == default["id"]
    assert created["stage"] == default["stages"][0]["id"]
    assert created["probability"] == 10
    assert created["forecast_amount"] == "100.00"
    assert [s["name"] for s in default["stages"]][-2:] == ["Closed Won", "Closed Lost"]


def test_stage_change_follows_probability_and_logs_history(api, tenant_a):
    created = deal(api, amount="2000")
    stages = api.get("/api/v1/pipelines/").json()["results"][0]["stages"]
    negotiation = next(s for s in stages if s["name"] == "Negotiation or Review")

    moved = api.post(
        f"/api/v1/deals/{created['id']}/stage", {"stage": negotiation["id"]}, content_type="application/json"
    ).json()

    assert (moved["stage"], moved["probability"], moved["forecast_amount"]) == (negotiation["id"], 80, "1600.00")
    with tenant_context(tenant_a):
        history = list(StageHistory.objects.order_by("changed_at").values_list("stage_id", "probability"))
    assert history == [(stages[0]["id"], 10), (negotiation["id"], 80)]


def test_close_won_and_lost(api):
    won = deal(api, amount="10")
    lost = deal(api, amount="10", name="Other")

    won_after = api.post(
        f"/api/v1/deals/{won['id']}/close", {"won": True, "reason": "Best price"}, content_type="application/json"
    ).json()
    lost_after = api.post(f"/api/v1/deals/{lost['id']}/close", {"won": False}, content_type="application/json").json()

    assert (won_after["probability"], won_after["won_lost_reason"]) == (100, "Best price")
    assert won_after["closed_at"] is not None
    assert lost_after["probability"] == 0


def test_move_between_pipelines_maps_stages_by_name_or_map(api, tenant_a, admin_of):
    with tenant_context(tenant_a):
        other = pipeline_create(
            actor=admin_of(tenant_a),
            name="Renewals",
            stages=[
                {"name": "Prospecting", "probability": 15},
                {"name": "Renewal sent", "probability": 60},
                {"name": "Closed Won", "probability": 100, "is_won": True},
            ],
        )
        renewal_sent = other.stages.get(name="Renewal sent")
    by_name = deal(api)
    by_map = deal(api, name="Mapped")

    moved = api.post(f"/api/v1/deals/{by_name['id']}/move", {"pipeline": other.pk}, content_type="application/json")
    mapped = api.post(
        f"/api/v1/deals/{by_map['id']}/move",
        {"pipeline": other.pk, "stage_map": {str(by_map["stage"]): renewal_sent.pk}},
        content_type="application/json",
    )

    assert moved.json()["pipeline"] == other.pk
    assert moved.json()["stage"] == other.stages.get(name="Prospecting").pk
    assert mapped.json()["stage"] == renewal_sent.pk


def test_stage_of_another_pipeline_is_refused(api, tenant_a, admin_of):
    with tenant_context(tenant_a):
        other = pipeline_create(actor=admin_of(tenant_a), name="Other", stages=[{"name": "Only", "probability": 5}])
    created = deal(api)

    response = api.patch(
        f"/api/v1/deals/{created['id']}/", {"stage": other.stages.get().pk}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"stage": ["This stage belongs to another pipeline."]}


def test_pipeline_validation(api):
    response = api.post(
        "/api/v1/pipelines/",
        {"name": "", "stages": [{"name": "x", "probability": 400}]},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"name", "stages.0"}


def test_kanban_totals_count_sum_and_weighted_sum(client_for, tenant_a, admin_of, member):
    actor = admin_of(tenant_a)
    spec = registry.get("deals")
    with tenant_context(tenant_a):
        for amount in ("100", "300"):
            record_create(spec=spec, actor=actor, data={"name": "D", "close_date": "2027-01-01", "amount": amount})
    web = client_for(tenant_a, actor)

    board = web.get("/m/deals/board/")

    first = board.context["columns"][0]
    assert (first["count"], first["total"], first["weighted"]) == (2, Decimal("400.00"), Decimal("40.00"))
    assert all(c["count"] == 0 for c in board.context["columns"][1:])


def test_dragging_a_card_moves_the_deal_and_returns_fresh_columns(client_for, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        d = record_create(spec=registry.get("deals"), actor=actor, data={"name": "Drag me", "close_date": "2027-01-01"})
        target = Pipeline.objects.get(is_default=True).stages.get(name="Qualification")
    web = client_for(tenant_a, actor)

    response = web.post(f"/m/deals/{d.pk}/stage/", {"stage": target.pk}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    column = next(c for c in response.context["columns"] if c["stage"].pk == target.pk)
    assert [deal.pk for deal, _url in column["cards"]] == [d.pk]


def test_board_totals_exclude_other_tenants(client_for, tenant_a, tenant_b, admin_of):
    with tenant_context(tenant_b):
        record_create(
            spec=registry.get("deals"),
            actor=admin_of(tenant_b),
            data={"name": "B", "close_date": "2027-01-01", "amount": "999"},
        )

    board = client_for(tenant_a, admin_of(tenant_a)).get("/m/deals/board/")

    assert sum(c["count"] for c in board.context["columns"]) == 0


def test_new_deals_cannot_go_into_an_archived_pipeline(api, tenant_a, admin_of):
    with tenant_context(tenant_a):
        old = pipeline_create(actor=admin_of(tenant_a), name="Old", stages=[{"name": "Only", "probability": 5}])
        Pipeline.objects.filter(pk=old.pk).update(archived=True)

    response = api.post(
        "/api/v1/deals/", {"name": "X", "close_date": "2027-01-01", "pipeline": old.pk}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"pipeline": ["This pipeline is archived."]}


def test_board_loads_cards_of_all_stages_in_one_query(client_for, tenant_a, admin_of):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conftest import statements

    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        for _ in range(3):
            record_create(spec=registry.get("deals"), actor=actor, data={"name": "D", "close_date": "2027-01-01"})
    web = client_for(tenant_a, actor)
    # Definitions (the menu's custom modules too) are loaded once per metadata version: warm them first.
    web.get("/m/deals/board/")
    with CaptureQueriesContext(connection) as few:
        web.get("/m/deals/board/")
    with tenant_context(tenant_a):
        stages = list(Pipeline.objects.get(is_default=True).stages.all())
        for stage in stages:
            record_create(
                spec=registry.get("deals"),
                actor=actor,
                data={"name": "S", "close_date": "2027-01-01", "stage": stage.pk},
            )
    web.get("/m/deals/board/")  # the writes gave new record stamps: the column totals are cached again
    with CaptureQueriesContext(connection) as many:
        web.get("/m/deals/board/")

    assert len(statements(many)) == len(statements(few))


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/m/deals/board/?pipeline=1", "/m/deals/board/?pipeline=1"),
        ("https://evil.example/phish", None),
        ("//evil.example/phish", None),
        ("javascript:alert(1)", None),
    ],
)
def test_stage_change_redirects_only_to_addresses_on_this_host(client_for, tenant_a, admin_of, next_url, expected):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        deal = record_create(spec=registry.get("deals"), actor=actor, data={"name": "N", "close_date": "2027-01-01"})
        stage = Pipeline.objects.get(is_default=True).stages.get(name="Qualification")

    response = client_for(tenant_a, actor).post(f"/m/deals/{deal.pk}/stage/", {"stage": stage.pk, "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == (expected or f"/m/deals/{deal.pk}/")


def test_deal_page_shows_the_stage_bar_and_history_panels(client_for, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        deal = record_create(spec=registry.get("deals"), actor=actor, data={"name": "N", "close_date": "2027-01-01"})

    response = client_for(tenant_a, actor).get(f"/m/deals/{deal.pk}/")

    names = [t.name for t in response.templates]
    assert "deals/_stage_panel.html" in names
    assert "deals/_stage_history.html" in names
    assert [p["key"] for p in response.context["panels"]["top"]] == ["stage"]
    assert [h.stage.name for h in response.context["panels"]["side"][0]["data"]["history"]] == ["Prospecting"]


def test_admins_translate_a_pipeline_and_its_stages_and_stored_names_stay(api, tenant_a, client_for, member):
    pipeline = api.get("/api/v1/pipelines/").json()["results"][0]
    first = pipeline["stages"][0]

    response = api.post(
        f"/api/v1/pipelines/{pipeline['id']}/labels",
        {"labels": {"ru": "Продажи B2B"}, "stages": {str(first["id"]): {"ru": "Разведка"}}},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    plain = client_for(tenant_a, member(tenant_a)).post(
        f"/api/v1/pipelines/{pipeline['id']}/labels", {"labels": {"ru": "x"}}, content_type="application/json"
    )
    bad = api.post(
        f"/api/v1/pipelines/{pipeline['id']}/labels", {"labels": {"xx": "?"}}, content_type="application/json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["labels"]["ru"] == "Продажи B2B"
    assert response.json()["name"] == pipeline["name"]
    assert response.json()["stages"][0]["labels"]["ru"] == "Разведка"
    assert response.json()["stages"][0]["name"] == first["name"]
    assert plain.status_code == 403
    assert bad.status_code == 400 and "labels" in bad.json()
    with tenant_context(tenant_a):
        assert Pipeline.objects.get(pk=pipeline["id"]).labels["ru"] == "Продажи B2B"


def test_translating_another_tenants_pipeline_is_a_404(api, client_for, tenant_a, tenant_b, admin_of):
    with tenant_context(tenant_a):
        only_here = pipeline_create(
            actor=admin_of(tenant_a), name="Only in alpha", stages=[{"name": "One", "probability": 10}]
        )
        only_here = pipeline_create(
            actor=admin_of(tenant_a), name="Also only in alpha", stages=[{"name": "One", "probability": 10}]
        )
    other = client_for(tenant_b, admin_of(tenant_b))

    response = other.post(
        f"/api/v1/pipelines/{only_here.pk}/labels", {"labels": {"ru": "x"}}, content_type="application/json"
    )

    assert response.status_code == 404
