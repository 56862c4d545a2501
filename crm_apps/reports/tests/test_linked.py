"""Fields of records linked through link tables as columns and groupings (not only filters): a column lists the
distinct values of the linked records the member may see; a grouping puts a record once in each distinct
linked value's group (vtiger's semantics), the record's own amounts counted once per group and once in the
totals, so groups may add up to more than the totals but never a link twice; "(empty)": no visible linked
record with a value. Cross-tenant: another workspace's link rows never reach a report."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, profile_set_fields, role_create, sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.deals.models import Stage
from crm_apps.reports import exports
from crm_apps.reports.definition import parse
from crm_apps.reports.engine import run

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")
TASKS = registry.get("tasks")


@pytest.fixture
def world(tenant_a, admin_of, member):
    """Deals D1 (100), D2 (50) owned by a rep, D3 (70) by the admin; tasks (private): T1 "Call" (rep, not
    started) linked to D1 and D2, T2 "Secret" (admin, completed) linked to D1, T3 "Mail" (rep, not started)
    linked to D1. The rep sees D1, D2, T1 and T3 only."""
    from crm_apps.modules.calendar.models import TaskLink

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private")
        sharing_default_set(actor=admin, module="tasks", access="private")
        profile = profile_save(actor=admin, profile=None, name="Linked reps", flags={})
        role = role_create(
            actor=admin, name="Linked rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    rep = member(tenant_a, role=role)
    with tenant_context(tenant_a):
        stages = list(Stage.objects.order_by("position")[:2])

        def deal(name, amount, owner, stage):
            return record_create(
                spec=DEALS,
                actor=admin,
                data={"name": name, "amount": amount, "owner": owner.pk, "stage": stage.pk, "close_date": "2027-01-15"},
            )

        d1, d2, d3 = (
            deal("D1", "100", rep, stages[0]),
            deal("D2", "50", rep, stages[1]),
            deal("D3", "70", admin, stages[0]),
        )

        def task(subject, owner, status):
            return record_create(
                spec=TASKS, actor=admin, data={"subject": subject, "owner": owner.pk, "status": status}
            )

        t1, t2, t3 = (
            task("Call", rep, "not_started"),
            task("Secret", admin, "completed"),
            task("Mail", rep, "not_started"),
        )
        for t, d in ((t1, d1), (t1, d2), (t2, d1), (t3, d1)):
            TaskLink.objects.create(task=t, module="deals", record_id=d.pk)
    return {"admin": admin, "rep": rep, "deals": (d1, d2, d3), "tasks": (t1, t2, t3), "stages": stages, "role": role}


BY_STATUS = {
    "module": "deals",
    "type": "summary",
    "group_by": ["linked.tasks.status"],
    "aggregates": [{"op": "count"}, {"field": "amount", "op": "sum"}],
}


def groups_of(result):
    return {g["value"]: g["aggregates"] for g in result["groups"]}


def test_a_linked_grouping_counts_each_record_once_per_distinct_linked_value(tenant_a, world):
    with tenant_context(tenant_a):
        as_admin = run(parse(BY_STATUS, actor=world["admin"]))
        as_rep = run(parse(BY_STATUS, actor=world["rep"]))

    # D1 has two not-started tasks: one count, one 100 in that group. D3 has no linked task: "(empty)".
    assert groups_of(as_admin) == {
        "not_started": {"count": 2, "sum_amount": "150.00"},
        "completed": {"count": 1, "sum_amount": "100.00"},
        None: {"count": 1, "sum_amount": "70.00"},
    }
    assert as_admin["totals"] == {"count": 3, "sum_amount": "220.00"}  # records, not links
    labels = {g["value"]: g["label"] for g in as_admin["groups"]}
    assert labels == {"not_started": "Not started", "completed": "Completed", None: "(empty)"}
    # The rep sees neither D3 nor the admin's completed task: no "completed" group, no 70 anywhere.
    assert groups_of(as_rep) == {"not_started": {"count": 2, "sum_amount": "150.00"}}
    assert as_rep["totals"] == {"count": 2, "sum_amount": "150.00"}


def test_a_linked_groups_drill_down_selects_exactly_its_records(tenant_a, world):
    with tenant_context(tenant_a):
        result = run(parse(BY_STATUS, actor=world["admin"]))
        drilled = {}
        for group in result["groups"]:
            drill = {"module": "deals", "type": "tabular", "columns": ["name"], "filters": group["drill"]}
            drilled[group["value"]] = sorted(r["name"] for r in run(parse(drill, actor=world["admin"]))["rows"])

    assert drilled == {"not_started": ["D1", "D2"], "completed": ["D1"], None: ["D3"]}


def test_subtotals_over_a_linked_grouping_count_records_not_links(tenant_a, world):
    definition = {**BY_STATUS, "group_by": ["stage", "linked.tasks.status"]}
    with tenant_context(tenant_a):
        result = run(parse(definition, actor=world["admin"]))
    first_stage = world["stages"][0]

    top = {g["value"]: g for g in result["groups"]}
    # Stage 1 holds D1 (100; not started and completed) and D3 (70; no task): 2 records, 170 - not 270.
    assert top[first_stage.pk]["aggregates"] == {"count": 2, "sum_amount": "170.00"}
    assert {g["value"]: g["aggregates"]["count"] for g in top[first_stage.pk]["groups"]} == {
        "not_started": 1,
        "completed": 1,
        None: 1,
    }
    assert result["totals"] == {"count": 3, "sum_amount": "220.00"}


def test_a_matrix_pivots_by_a_linked_field(tenant_a, world):
    definition = {
        "module": "deals",
        "type": "matrix",
        "group_by": ["stage"],
        "pivot": "linked.tasks.status",
        "aggregates": [{"op": "count"}],
    }
    with tenant_context(tenant_a):
        result = run(parse(definition, actor=world["rep"]))

    assert [p["key"] for p in result["pivot"]["values"]] == ["not_started"]
    assert result["totals"]["cells"] == {"not_started": {"count": 2}}
    assert result["totals"]["count"] == 2


def test_a_linked_column_lists_the_visible_linked_values_once_each(tenant_a, world):
    definition = {
        "module": "deals",
        "type": "tabular",
        "columns": ["name", "linked.tasks.subject", "linked.tasks.status"],
        "sort": [{"field": "name", "dir": "asc"}],
    }
    with tenant_context(tenant_a):
        as_admin = run(parse(definition, actor=world["admin"]))
        as_rep = run(parse(definition, actor=world["rep"]))
        header, lines = exports.table(as_rep)

    by_name = {r["name"]: r for r in as_admin["rows"]}
    assert by_name["D1"]["linked.tasks.subject"] == ["Call", "Mail", "Secret"]
    assert by_name["D1"]["linked.tasks.status"] == ["Completed", "Not started"]
    assert by_name["D3"]["linked.tasks.subject"] == []
    assert as_admin["totals"]["count"] == 3  # one row per deal, however many links
    rep_rows = {r["name"]: r["linked.tasks.subject"] for r in as_rep["rows"]}
    assert rep_rows == {"D1": ["Call", "Mail"], "D2": ["Call"]}
    assert "Secret" not in str(as_rep)
    assert header[:2] == ["Deal name", "Linked Tasks › Subject"]
    assert lines[0][:2] == ["D1", "Call, Mail"]


def test_linked_fields_the_other_way_and_their_field_errors(tenant_a, world):
    """Tasks report grouped by their linked deals' stage; aggregates of linked fields, two linked groupings
    and unknown linked fields are field errors (400), never a 500."""
    definition = {
        "module": "tasks",
        "type": "summary",
        "group_by": ["linked.deals.stage"],
        "aggregates": [{"op": "count"}],
    }
    first, second = world["stages"]
    with tenant_context(tenant_a):
        as_rep = run(parse(definition, actor=world["rep"]))
        for bad, key in (
            ({**definition, "aggregates": [{"field": "linked.deals.amount", "op": "sum"}]}, "aggregates.0.field"),
            ({**definition, "group_by": ["linked.deals.stage", "linked.deals.name"]}, "group_by"),
            ({**definition, "group_by": ["linked.deals.nothing"]}, "group_by.0"),
            ({**definition, "type": "tabular", "columns": ["linked.nowhere.name"]}, "columns.0"),
        ):
            with pytest.raises(ValidationError) as caught:
                parse(bad, actor=world["admin"])
            assert key in caught.value.message_dict

    # T1 (D1 in stage 1, D2 in stage 2) is in both groups; T3 (D1) in stage 1; T2 is not the rep's.
    assert groups_of(as_rep) == {first.pk: {"count": 2}, second.pk: {"count": 1}}
    assert as_rep["totals"] == {"count": 2}


def test_a_linked_field_hidden_from_the_member_is_unknown_or_omitted(tenant_a, world):
    with tenant_context(tenant_a):
        profile = world["role"].profiles.get()
        profile_set_fields(actor=world["admin"], profile=profile, module="tasks", access={"description": "hidden"})
        Task = TASKS.model
        Task.objects.filter(pk=world["tasks"][0].pk).update(description="Confidential note")
        definition = {"module": "deals", "type": "tabular", "columns": ["name", "linked.tasks.description"]}
        assert "Confidential note" in str(run(parse(definition, actor=world["admin"])))
        with pytest.raises(ValidationError) as caught:
            parse(definition, actor=world["rep"])
        assert "columns.1" in caught.value.message_dict
        saved = parse(definition, actor=world["rep"], saved=True)
        assert saved.omitted == ["linked.tasks.description"]
        assert "Confidential note" not in str(run(saved))


def test_another_workspaces_link_rows_never_reach_a_report(tenant_a, tenant_b, world, admin_of):
    """A link row in workspace B naming a deal id of workspace A (forged) shows nowhere in A, and B's report
    sees none of A's links."""
    from crm_apps.modules.calendar.models import TaskLink

    d1 = world["deals"][0]
    admin_b = admin_of(tenant_b)
    with tenant_context(tenant_b):
        foreign = record_create(spec=TASKS, actor=admin_b, data={"subject": "Foreign", "status": "deferred"})
        TaskLink.objects.create(task=foreign, module="deals", record_id=d1.pk)
        in_b = run(parse({**BY_STATUS}, actor=admin_b))
    with tenant_context(tenant_a):
        in_a = run(parse(BY_STATUS, actor=world["admin"]))
        column = run(
            parse(
                {"module": "deals", "type": "tabular", "columns": ["name", "linked.tasks.subject"]},
                actor=world["admin"],
            )
        )

    assert "deferred" not in groups_of(in_a)
    assert "Foreign" not in str(column)
    assert in_b["totals"]["count"] == 0
    assert in_b["groups"] == []


def test_the_api_offers_runs_and_refuses_linked_fields(tenant_a, world):
    from crm_apps.reports.tests.test_api import api_for, post

    rep = api_for(tenant_a, world["rep"])
    offered = {f["path"]: f for f in rep.get("/api/v1/reports/fields?module=deals").json()["linked"]}
    assert offered["linked.tasks.status"]["groupable"] is True

    ran = post(rep, "/api/v1/reports/run", BY_STATUS)
    bad = post(
        rep, "/api/v1/reports/run", {**BY_STATUS, "aggregates": [{"field": "linked.tasks.subject", "op": "count"}]}
    )

    assert ran.status_code == 200
    assert [(g["value"], g["aggregates"]["count"]) for g in ran.json()["groups"]] == [("not_started", 2)]
    assert bad.status_code == 400
    assert "aggregates.0.field" in json.dumps(bad.json())
