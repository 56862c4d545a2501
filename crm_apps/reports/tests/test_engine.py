"""The report engine: definitions checked into field errors, summaries, matrices and tabular reports in SQL
over visible records, relative dates, money converted at the stored rate, field-level security."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, profile_set_fields, role_create, sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.models import Currency
from crm_apps.engine.services import custom_field_create, record_create
from crm_apps.modules.deals.models import Stage
from crm_apps.reports import dates
from crm_apps.reports.definition import parse
from crm_apps.reports.engine import run

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


def deal(actor, **extra):
    return record_create(spec=DEALS, actor=actor, data={"name": "D", "close_date": "2027-01-15", **extra})


def report(actor, **definition):
    return run(parse({"module": "deals", **definition}, actor=actor))


def test_summary_by_stage_sums_converted_amounts_with_subtotals_and_totals(tenant_a, admin):
    with tenant_context(tenant_a):
        Currency.objects.create(code="EUR", rate=1, is_base=True)
        Currency.objects.create(code="USD", rate=Decimal("0.9"))
        stages = list(Stage.objects.order_by("position")[:2])
        deal(admin, amount="100", currency="EUR", stage=stages[0].pk, close_date="2027-01-10")
        deal(admin, amount="200", currency="USD", stage=stages[0].pk, close_date="2027-02-10")
        deal(admin, amount="50.50", currency="USD", stage=stages[1].pk, close_date="2027-02-11")

        result = report(
            admin,
            type="summary",
            group_by=["stage", "close_date:month"],
            aggregates=[{"field": "amount", "op": "sum"}, {"op": "count"}],
        )

    assert set(result) >= {"columns", "rows", "groups", "totals"}
    assert result["totals"] == {"sum_amount": "325.45", "count": 3}
    first = result["groups"][0]
    assert first["label"] == stages[0].name
    assert first["aggregates"] == {"sum_amount": "280.00", "count": 2}
    assert [(g["label"], g["aggregates"]["sum_amount"]) for g in first["groups"]] == [
        ("2027-01", "100.00"),
        ("2027-02", "180.00"),
    ]
    assert len(result["rows"]) == 3
    assert result["meta"]["currency"]["base"] == "EUR"
    assert result["meta"]["currency"]["converted"] is True
    assert first["groups"][1]["drill"] == [
        {"field": "stage", "op": "eq", "value": stages[0].pk},
        {"field": "close_date", "op": "between", "value": ["2027-02-01", "2027-02-28"]},
    ]


def test_bad_definitions_are_field_errors(tenant_a, admin):
    with tenant_context(tenant_a):
        with pytest.raises(ValidationError) as err:
            parse(
                {
                    "module": "deals",
                    "type": "summary",
                    "group_by": ["nope", "amount:month"],
                    "aggregates": [{"field": "name", "op": "sum"}],
                    "filters": {"match": "all", "conditions": [{"field": "amount", "op": "contains", "value": "x"}]},
                    "limit": 0,
                },
                actor=admin,
            )
        with pytest.raises(ValidationError) as unknown:
            parse({"module": "nothing"}, actor=admin)
    errors = err.value.message_dict
    assert set(errors) == {"group_by.0", "group_by.1", "aggregates.0.op", "filters.conditions.0.op", "limit"}
    assert "module" in unknown.value.message_dict


def test_matrix_pivots_rows_by_columns_with_totals(tenant_a, admin):
    with tenant_context(tenant_a):
        stage = Stage.objects.order_by("position")[0]
        deal(admin, amount="10", stage=stage.pk, close_date="2027-01-10", lead_source="Web Site")
        deal(admin, amount="20", stage=stage.pk, close_date="2027-04-10", lead_source="Web Site")
        deal(admin, amount="5", stage=stage.pk, close_date="2027-04-11", lead_source="")
        result = report(
            admin,
            type="matrix",
            group_by=["lead_source"],
            pivot={"field": "close_date", "granularity": "quarter"},
            aggregates=[{"op": "count"}],
        )
    assert [c["label"] for c in result["pivot"]["values"]] == ["2027-Q1", "2027-Q2"]
    web = next(r for r in result["rows"] if r["lead_source"]["value"] == "Web Site")
    assert web["cells"] == {"2027-01-01": {"count": 1}, "2027-04-01": {"count": 1}}
    assert web["total"] == {"count": 2}
    assert result["totals"]["count"] == 3
    assert result["totals"]["cells"]["2027-04-01"] == {"count": 2}


def test_tabular_with_related_and_custom_fields_filters_and_sort(tenant_a, admin):
    with tenant_context(tenant_a):
        custom_field_create(actor=admin, spec=DEALS, key="score", label="Score", type="integer")
        orgs = registry.get("organizations")
        acme = record_create(spec=orgs, actor=admin, data={"name": "Acme", "industry": "Banking"})
        deal(admin, name="A", organization=str(acme.pk), amount="5")
        record_create(spec=DEALS, actor=admin, data={"name": "B", "close_date": "2027-01-01"}, custom={"score": 7})
        record_create(spec=DEALS, actor=admin, data={"name": "C", "close_date": "2027-01-01"}, custom={"score": 3})
        result = report(
            admin,
            type="tabular",
            columns=["name", "organization.industry", "organization", "custom.score"],
            filters={
                "match": "any",
                "conditions": [
                    {"field": "organization.industry", "op": "eq", "value": "Banking"},
                    {"field": "custom.score", "op": "gte", "value": 5},
                ],
            },
            sort=[{"field": "name", "dir": "desc"}],
        )
    assert [(r["name"], r["organization.industry"], r["organization"], r["custom.score"]) for r in result["rows"]] == [
        ("B", None, None, "7"),
        ("A", "Banking", "Acme", None),
    ]
    assert result["totals"]["count"] == 2


@pytest.mark.parametrize(
    ("name", "today", "expected"),
    [
        ("this_quarter", dt.date(2026, 12, 31), (dt.date(2026, 10, 1), dt.date(2026, 12, 31))),
        ("next_quarter", dt.date(2026, 12, 31), (dt.date(2027, 1, 1), dt.date(2027, 3, 31))),
        ("last_quarter", dt.date(2027, 1, 1), (dt.date(2026, 10, 1), dt.date(2026, 12, 31))),
        ("next_month", dt.date(2026, 12, 15), (dt.date(2027, 1, 1), dt.date(2027, 1, 31))),
        ("last_month", dt.date(2027, 3, 31), (dt.date(2027, 2, 1), dt.date(2027, 2, 28))),
        ("last_30_days", dt.date(2027, 3, 1), (dt.date(2027, 1, 31), dt.date(2027, 3, 1))),
        ("this_week", dt.date(2027, 1, 1), (dt.date(2026, 12, 28), dt.date(2027, 1, 3))),
        ("last_year", dt.date(2027, 1, 1), (dt.date(2026, 1, 1), dt.date(2026, 12, 31))),
        ("next_7_days", dt.date(2026, 12, 30), (dt.date(2026, 12, 30), dt.date(2027, 1, 5))),
    ],
)
def test_relative_ranges_across_month_quarter_and_year_boundaries(name, today, expected):
    assert dates.relative_range(name, today) == expected


def test_relative_dates_use_the_members_time_zone(tenant_a, admin):
    """At 23:30 UTC on 31 December it is already 1 January in Tokyo: "this year" moves with the zone."""
    from unittest import mock

    with tenant_context(tenant_a):
        deal(admin, close_date="2026-12-31")
        deal(admin, close_date="2027-01-01")
        now = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
        definition = {"type": "summary", "group_by": ["close_date:year"], "aggregates": [{"op": "count"}]}
        flt = {"conditions": [{"field": "close_date", "op": "relative", "value": "this_year"}]}
        with mock.patch("django.utils.timezone.now", return_value=now):
            admin.timezone = "UTC"
            in_utc = report(admin, filters=flt, **definition)
            admin.timezone = "Asia/Tokyo"
            in_tokyo = report(admin, filters=flt, **definition)
    assert [g["label"] for g in in_utc["groups"]] == ["2026"]
    assert [g["label"] for g in in_tokyo["groups"]] == ["2027"]


def test_restricted_member_sees_only_visible_records_and_no_hidden_fields(tenant_a, admin, member):
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private")
        profile = profile_save(actor=admin, profile=None, name="Report reps", flags={})
        profile_set_fields(actor=admin, profile=profile, module="deals", access={"lead_source": "hidden"})
        role = role_create(
            actor=admin, name="Rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    rep = member(tenant_a, role=role)
    with tenant_context(tenant_a):
        deal(admin, amount="1000", owner=admin.pk)
        deal(admin, amount="7", owner=rep.pk)
        mine = report(rep, type="summary", group_by=["stage"], aggregates=[{"field": "amount", "op": "sum"}])
        everything = report(admin, type="summary", group_by=["stage"], aggregates=[{"field": "amount", "op": "sum"}])
        with pytest.raises(ValidationError) as hidden:
            parse({"module": "deals", "type": "summary", "group_by": ["lead_source"]}, actor=rep)
        saved = run(parse({"module": "deals", "columns": ["name", "lead_source"]}, actor=rep, saved=True))
    assert mine["totals"]["sum_amount"] == "7.00"
    assert everything["totals"]["sum_amount"] == "1007.00"
    assert "group_by.0" in hidden.value.message_dict
    assert saved["meta"]["omitted"] == ["lead_source"]
    assert all("lead_source" not in row for row in saved["rows"])


def test_custom_modules_and_their_custom_fields_report_like_built_in_ones(tenant_a, admin):
    from crm_apps.custom_modules.testing import CONTRACT_MODULE, contract_module_create

    contract_module_create(tenant_a)
    with tenant_context(tenant_a):
        spec = registry.get(CONTRACT_MODULE)
        custom_field_create(actor=admin, spec=spec, key="weight", label="Weight", type="decimal")
        custom_field_create(actor=admin, spec=spec, key="kind", label="Kind", type="picklist", choices=["Big", "Small"])
        for name, weight, kind in (("Crane", "12.5", "Big"), ("Drill", "1.25", "Small"), ("Truck", "30", "Big")):
            record_create(spec=spec, actor=admin, data={"name": name}, custom={"weight": weight, "kind": kind})
        result = run(
            parse(
                {
                    "module": CONTRACT_MODULE,
                    "type": "summary",
                    "group_by": ["custom.kind"],
                    "aggregates": [{"field": "custom.weight", "op": "sum"}, {"op": "count"}],
                    "sort": [{"field": "sum_custom__weight", "dir": "desc"}],
                },
                actor=admin,
            )
        )
        # Deals of the same table's other modules never count: a custom module reads its own rows only.
        deal(admin, amount="1")
    assert [(r["custom__kind"]["value"], r["sum_custom__weight"], r["count"]) for r in result["rows"]] == [
        ("Big", "42.5", 2),
        ("Small", "1.25", 1),
    ]
    assert result["totals"] == {"sum_custom__weight": "43.75", "count": 3}


def test_weighted_pipeline_and_lookup_table_fields(tenant_a, admin):
    with tenant_context(tenant_a):
        won = Stage.objects.filter(is_won=True)[0]
        open_stage = Stage.objects.filter(is_won=False, is_lost=False, pipeline=won.pipeline).order_by("position")[0]
        pending = deal(admin, amount="200", stage=open_stage.pk)
        pending.refresh_from_db()
        deal(admin, amount="100", stage=won.pk)
        result = report(
            admin,
            type="summary",
            group_by=["stage.is_won"],
            aggregates=[{"field": "amount", "op": "sum"}, {"field": "amount", "op": "weighted"}],
        )
        with pytest.raises(ValidationError):
            parse(
                {
                    "module": "leads",
                    "type": "summary",
                    "group_by": ["status"],
                    "aggregates": [{"field": "annual_revenue", "op": "weighted"}],
                },
                actor=admin,
            )
    by_won = {g["value"]: g["aggregates"] for g in result["groups"]}
    assert by_won[True]["sum_amount"] == "100.00"
    weighted = (Decimal(200) * pending.probability / 100).quantize(Decimal("0.01"))
    assert pending.probability > 0
    assert by_won[False] == {"sum_amount": "200.00", "weighted_amount": str(weighted)}


def test_referenced_records_the_member_may_not_see_give_no_values(tenant_a, admin, member):
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="organizations", access="private")
        profile = profile_save(actor=admin, profile=None, name="Guard reps", flags={})
        profile_set_fields(actor=admin, profile=profile, module="organizations", access={"annual_revenue": "hidden"})
        role = role_create(
            actor=admin, name="Guard rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    rep = member(tenant_a, role=role)
    with tenant_context(tenant_a):
        orgs = registry.get("organizations")
        secret = record_create(
            spec=orgs, actor=admin, data={"name": "Secret Corp", "industry": "Banking", "owner": admin.pk}
        )
        deal(admin, name="Mine", organization=str(secret.pk), amount="10", owner=rep.pk)
        result = report(
            rep,
            type="summary",
            group_by=["organization", "organization.industry"],
            aggregates=[{"op": "count"}],
        )
        filtered = report(
            rep,
            columns=["name"],
            filters={"conditions": [{"field": "organization.industry", "op": "eq", "value": "Banking"}]},
        )
        with pytest.raises(ValidationError) as hidden:
            parse({"module": "deals", "columns": ["organization.annual_revenue"]}, actor=rep)
    row = result["rows"][0]
    assert row["organization"]["label"] == "Restricted record"
    assert "Secret Corp" not in str(result)
    assert row["organization__industry"]["value"] is None
    assert filtered["rows"] == []
    assert "columns.0" in hidden.value.message_dict


def test_filters_through_link_tables_both_ways_with_the_members_visibility(tenant_a, admin, member):
    """Tasks are linked to records of any module by a link table (TaskLink): a tasks report filters on "some
    linked deal whose stage is ..." and a deals report on "some linked task whose status is ...", each linked
    record counted only when the member may see it; unknown links or fields are field errors."""
    from crm_apps.modules.calendar.models import TaskLink

    tasks = registry.get("tasks")
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private")
        profile = profile_save(actor=admin, profile=None, name="Link reps", flags={})
        role = role_create(
            actor=admin, name="Link rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    rep = member(tenant_a, role=role)
    with tenant_context(tenant_a):
        won = Stage.objects.filter(is_won=True)[0]
        open_stage = Stage.objects.filter(is_won=False, is_lost=False)[0]
        shown = deal(admin, stage=won.pk, pipeline=won.pipeline_id, owner=rep.pk, name="Shown")
        hidden = deal(admin, stage=won.pk, pipeline=won.pipeline_id, owner=admin.pk, name="Hidden")
        other = deal(admin, stage=open_stage.pk, pipeline=open_stage.pipeline_id, owner=rep.pk, name="Open")
        t1 = record_create(spec=tasks, actor=admin, data={"subject": "Call about shown", "owner": rep.pk})
        t2 = record_create(spec=tasks, actor=admin, data={"subject": "Call about hidden", "owner": rep.pk})
        t3 = record_create(spec=tasks, actor=admin, data={"subject": "Call about open", "owner": rep.pk})
        for task, linked in ((t1, shown), (t2, hidden), (t3, other)):
            TaskLink.objects.create(task=task, module="deals", record_id=linked.pk)
        TaskLink.objects.create(task=t1, module="deals", record_id=other.pk)  # two links: still one row
        won_filter = {"match": "all", "conditions": [{"field": "linked.deals.stage.is_won", "op": "is_true"}]}
        definition = {"module": "tasks", "type": "tabular", "columns": ["subject"], "filters": won_filter}
        as_admin = run(parse(definition, actor=admin))
        as_rep = run(parse(definition, actor=rep))
        assert sorted(r["subject"] for r in as_admin["rows"]) == ["Call about hidden", "Call about shown"]
        assert [r["subject"] for r in as_rep["rows"]] == ["Call about shown"]  # the hidden deal opens nothing
        assert as_rep["totals"]["count"] == 1
        # The other way: deals with a linked task in some status; a summary counts each deal once.
        back = {
            "module": "deals",
            "type": "summary",
            "group_by": ["stage"],
            "aggregates": [{"op": "count"}],
            "filters": [{"field": "linked.tasks.subject", "op": "contains", "value": "Call"}],
        }
        assert run(parse(back, actor=admin))["totals"]["count"] == 3
        assert run(parse(back, actor=rep))["totals"]["count"] == 2
        for bad, key in (
            ("linked.nothing.name", "filters.conditions.0.field"),
            ("linked.deals.no_such_field", "filters.conditions.0.field"),
            ("linked.deals", "filters.conditions.0.field"),
        ):
            with pytest.raises(ValidationError) as caught:
                parse({**definition, "filters": [{"field": bad, "op": "eq", "value": "x"}]}, actor=admin)
            assert key in caught.value.message_dict
        with pytest.raises(ValidationError) as caught:
            parse(
                {**definition, "filters": [{"field": "linked.deals.amount", "op": "gte", "value": "abc"}]}, actor=admin
            )
        assert "filters.conditions.0.value" in caught.value.message_dict
        from crm_apps.reports.fields import linked_fields

        offered = {x.path for x in linked_fields(spec=tasks, actor=admin)}
        assert {"linked.deals.stage", "linked.deals.amount"} <= offered
        assert "linked.tasks.subject" in {x.path for x in linked_fields(spec=DEALS, actor=admin)}


def test_the_field_catalogue_is_kept_but_follows_field_rules_custom_fields_and_language(tenant_a, admin, member):
    from django.utils import translation

    from crm_apps.reports.fields import catalogue

    deals = registry.get("deals")
    with tenant_context(tenant_a):
        profile = profile_save(actor=admin, profile=None, name="Catalogue reps", flags={})
        role = role_create(
            actor=admin, name="Catalogue rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    rep = member(tenant_a, role=role)
    with tenant_context(tenant_a), translation.override("en"):
        # Given the member's catalogue, read twice (the second time from the process's copy)
        first, again = catalogue(spec=deals, actor=rep), catalogue(spec=deals, actor=rep)
        # When a field is hidden from the member and a custom field is added
        profile_set_fields(actor=admin, profile=profile, module="deals", access={"lead_source": "hidden"})
        custom_field_create(actor=admin, spec=deals, key="risk", label="Risk", type="integer")
        after = catalogue(spec=deals, actor=rep)
        admins = catalogue(spec=deals, actor=admin)
    with tenant_context(tenant_a), translation.override("ru"):
        russian = catalogue(spec=deals, actor=rep)
    # Then the kept copy gave the same fields, each call its own dictionaries and actor, and the changes and
    # the language count at once
    assert first.fields == again.fields and first.fields is not again.fields and again.actor is rep
    assert "lead_source" in first.fields and "custom.risk" not in first.fields
    assert "lead_source" not in after.fields and "lead_source" in after.hidden and "custom.risk" in after.fields
    assert "lead_source" in admins.fields and admins.actor is admin
    assert russian.fields["amount"].label != after.fields["amount"].label
