"""Every filter operator of every field kind (`definition.OPERATORS`), each against the records it must select,
on built-in and custom fields of deals; "owner is me" and "owner is my team" (the member and their
subordinates in the role tree) for a manager and a rep; a table that names every operator of every kind, so
an operator added without a test fails here."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django_tenants.utils import tenant_context

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, role_create
from crm_apps.engine import registry
from crm_apps.engine.services import custom_field_create, record_create
from crm_apps.modules.deals.models import Stage
from crm_apps.reports import fields as f
from crm_apps.reports.definition import OPERATORS, parse
from crm_apps.reports.engine import run
from crm_apps.reports.fields import catalogue

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")
NOW = dt.datetime(2027, 2, 15, 12, 0, tzinfo=dt.UTC)  # "this month" is February 2027, "last month" January


@pytest.fixture
def world(tenant_a, admin_of, member):
    """Three deals (A, B, C) that differ in every field, owned by a manager (A), their rep (B) and a member
    of a sibling role (C)."""
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        profile = profile_save(actor=admin, profile=None, name="Operator reps", flags={})
        top = Role.objects.get(parent__isnull=True)
        manager_role = role_create(actor=admin, name="Op manager", parent=top, profile_ids=[profile.pk])
        rep_role = role_create(actor=admin, name="Op rep", parent=manager_role, profile_ids=[profile.pk])
        other_role = role_create(actor=admin, name="Op other", parent=top, profile_ids=[profile.pk])
    manager, rep, other = (member(tenant_a, role=r) for r in (manager_role, rep_role, other_role))
    with tenant_context(tenant_a):
        custom_field_create(actor=admin, spec=DEALS, key="score", label="Score", type="integer")
        custom_field_create(actor=admin, spec=DEALS, key="met_at", label="Met at", type="datetime")
        custom_field_create(actor=admin, spec=DEALS, key="vip", label="VIP", type="checkbox")
        custom_field_create(
            actor=admin, spec=DEALS, key="colours", label="Colours", type="multipicklist", choices=["Red", "Blue"]
        )
        orgs = registry.get("organizations")
        acme = record_create(spec=orgs, actor=admin, data={"name": "Acme"})
        globex = record_create(spec=orgs, actor=admin, data={"name": "Globex"})
        s0, s1 = Stage.objects.filter(pipeline__is_default=True).order_by("position")[:2]
        rows = {
            "A": (
                {
                    "name": "Alpha deal",
                    "lead_source": "Web Site",
                    "amount": "100",
                    "close_date": "2027-01-10",
                    "organization": str(acme.pk),
                    "stage": s0.pk,
                    "owner": manager.pk,
                },
                {"score": 5, "met_at": "2027-01-10T09:00:00+00:00", "vip": True, "colours": ["Red", "Blue"]},
            ),
            "B": (
                {
                    "name": "Beta",
                    "lead_source": "Cold Call",
                    "amount": "250",
                    "close_date": "2027-02-20",
                    "organization": str(globex.pk),
                    "stage": s1.pk,
                    "owner": rep.pk,
                },
                {"score": 10, "met_at": "2027-02-20T23:30:00+00:00", "vip": False, "colours": ["Blue"]},
            ),
            "C": (
                {
                    "name": "gamma ALPHA",
                    "lead_source": "",
                    "close_date": "2027-03-31",
                    "stage": s0.pk,
                    "owner": other.pk,
                },
                {},
            ),
        }
        ids = {}
        for key, (data, custom) in rows.items():
            ids[key] = record_create(spec=DEALS, actor=admin, data=data, custom=custom).pk
    return {
        "admin": admin,
        "manager": manager,
        "rep": rep,
        "other": other,
        "ids": ids,
        "acme": acme.pk,
        "globex": globex.pk,
        "s0": s0.pk,
        "s1": s1.pk,
    }


def names(tenant, actor, conditions, ids) -> set[str]:
    definition = {
        "module": "deals",
        "type": "tabular",
        "columns": ["name"],
        "filters": {"match": "all", "conditions": conditions},
    }
    with tenant_context(tenant), mock.patch("django.utils.timezone.now", return_value=NOW):
        result = run(parse(definition, actor=actor))
    by_id = {str(v): k for k, v in ids.items()}
    return {by_id[row["id"]] for row in result["rows"] if row["id"] in by_id}


def cases(w):
    """(field, op, value, expected deals) for every operator of every kind."""
    return [
        # text
        ("name", "eq", "beta", {"B"}),  # case-insensitive
        ("name", "neq", "beta", {"A", "C"}),
        ("name", "contains", "alpha", {"A", "C"}),
        ("name", "not_contains", "alpha", {"B"}),
        ("name", "starts_with", "ALP", {"A"}),
        ("name", "ends_with", "alpha", {"C"}),
        ("name", "in", ["Beta", "Alpha deal"], {"A", "B"}),
        ("name", "empty", None, set()),
        ("name", "not_empty", None, {"A", "B", "C"}),
        # picklist
        ("lead_source", "eq", "Web Site", {"A"}),
        ("lead_source", "neq", "Web Site", {"B", "C"}),
        ("lead_source", "in", ["Web Site", "Cold Call"], {"A", "B"}),
        ("lead_source", "not_in", ["Web Site"], {"B", "C"}),
        ("lead_source", "empty", None, {"C"}),
        ("lead_source", "not_empty", None, {"A", "B"}),
        # number (custom integer)
        ("custom.score", "eq", 5, {"A"}),
        ("custom.score", "neq", 5, {"B", "C"}),
        ("custom.score", "lt", 10, {"A"}),
        ("custom.score", "lte", 10, {"A", "B"}),
        ("custom.score", "gt", 5, {"B"}),
        ("custom.score", "gte", 5, {"A", "B"}),
        ("custom.score", "between", [6, 10], {"B"}),
        ("custom.score", "empty", None, {"C"}),
        ("custom.score", "not_empty", None, {"A", "B"}),
        # money
        ("amount", "eq", "100", {"A"}),
        ("amount", "neq", "100", {"B", "C"}),
        ("amount", "lt", "250", {"A"}),
        ("amount", "lte", "250", {"A", "B"}),
        ("amount", "gt", "100", {"B"}),
        ("amount", "gte", "100", {"A", "B"}),
        ("amount", "between", ["50", "150"], {"A"}),
        ("amount", "empty", None, {"C"}),
        ("amount", "not_empty", None, {"A", "B"}),
        # date
        ("close_date", "eq", "2027-02-20", {"B"}),
        ("close_date", "before", "2027-02-20", {"A"}),
        ("close_date", "after", "2027-02-20", {"C"}),
        ("close_date", "between", ["2027-01-10", "2027-02-20"], {"A", "B"}),
        ("close_date", "relative", "this_month", {"B"}),
        ("close_date", "empty", None, set()),
        ("close_date", "not_empty", None, {"A", "B", "C"}),
        # date-time (custom, in the member's zone: UTC)
        ("custom.met_at", "before", "2027-02-20", {"A"}),
        ("custom.met_at", "after", "2027-01-10", {"B"}),  # after the whole day
        ("custom.met_at", "between", ["2027-01-01", "2027-01-31"], {"A"}),
        ("custom.met_at", "on", "2027-02-20", {"B"}),
        ("custom.met_at", "relative", "last_month", {"A"}),
        ("custom.met_at", "empty", None, {"C"}),
        ("custom.met_at", "not_empty", None, {"A", "B"}),
        # boolean (custom checkbox: unset counts as false)
        ("custom.vip", "is_true", None, {"A"}),
        ("custom.vip", "is_false", None, {"B", "C"}),
        # reference
        ("organization", "eq", str(w["acme"]), {"A"}),
        ("organization", "neq", str(w["acme"]), {"B", "C"}),
        ("organization", "in", [str(w["acme"]), str(w["globex"])], {"A", "B"}),
        ("organization", "empty", None, {"C"}),
        ("organization", "not_empty", None, {"A", "B"}),
        # lookup table
        ("stage", "eq", w["s1"], {"B"}),
        ("stage", "neq", w["s1"], {"A", "C"}),
        ("stage", "in", [w["s0"]], {"A", "C"}),
        ("stage", "not_in", [w["s0"]], {"B"}),
        ("stage", "empty", None, set()),
        ("stage", "not_empty", None, {"A", "B", "C"}),
        # member
        ("owner", "eq", w["rep"].pk, {"B"}),
        ("owner", "neq", w["rep"].pk, {"A", "C"}),
        ("owner", "in", [w["rep"].pk, w["other"].pk], {"B", "C"}),
        ("owner", "me", None, {"A"}),  # run as the manager
        ("owner", "my_team", None, {"A", "B"}),  # the manager and their rep, not the sibling role
        ("owner", "empty", None, set()),
        ("owner", "not_empty", None, {"A", "B", "C"}),
        # multi-select (custom)
        ("custom.colours", "contains", "Blue", {"A", "B"}),
        ("custom.colours", "empty", None, {"C"}),
        ("custom.colours", "not_empty", None, {"A", "B"}),
    ]


def test_every_operator_of_every_kind_selects_exactly_its_records(tenant_a, world):
    manager = world["manager"]
    with tenant_context(tenant_a):
        cat = catalogue(spec=DEALS, actor=manager)
        kinds = {name: cat.fields[name].kind for name in cat.fields}
    covered: set[tuple[str, str]] = set()
    failures = []
    for field, op, value, expected in cases(world):
        condition = {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}
        got = names(tenant_a, manager, [condition], world["ids"])
        if got != expected:
            failures.append((field, op, value, got, expected))
        covered.add((kinds[field], op))
    assert not failures, failures
    # The table above names every operator of every kind the engine offers (an operator added later fails here).
    every = {(kind, op) for kind, ops in OPERATORS.items() for op in ops}
    assert every - covered == set()
    assert {kinds["name"], kinds["lead_source"], kinds["custom.score"], kinds["amount"]} == {
        f.TEXT,
        f.CHOICE,
        f.NUMBER,
        f.MONEY,
    }
    assert {kinds["close_date"], kinds["custom.met_at"], kinds["custom.vip"], kinds["organization"]} == {
        f.DATE,
        f.DATETIME,
        f.BOOLEAN,
        f.REFERENCE,
    }
    assert {kinds["stage"], kinds["owner"], kinds["custom.colours"]} == {f.LOOKUP, f.MEMBER, f.MULTI}


def test_me_and_my_team_follow_the_running_member(tenant_a, world):
    """A rep's team is themselves (nobody below them); a manager's includes the rep, not a sibling role's
    member; "any" groups combine them."""
    me, team = [{"field": "owner", "op": "me"}], [{"field": "owner", "op": "my_team"}]
    assert names(tenant_a, world["rep"], me, world["ids"]) == {"B"}
    assert names(tenant_a, world["rep"], team, world["ids"]) == {"B"}
    assert names(tenant_a, world["manager"], team, world["ids"]) == {"A", "B"}
    assert names(tenant_a, world["other"], team, world["ids"]) == {"C"}
    either = [{"match": "any", "conditions": [{"field": "owner", "op": "my_team"}, {"field": "amount", "op": "empty"}]}]
    assert names(tenant_a, world["rep"], either, world["ids"]) == {"B", "C"}


def test_operators_that_do_not_fit_the_field_or_bad_values_are_field_errors(tenant_a, world):
    from django.core.exceptions import ValidationError

    bad = [
        {"field": "amount", "op": "contains", "value": "1"},
        {"field": "name", "op": "gt", "value": "a"},
        {"field": "close_date", "op": "relative", "value": "next_century"},
        {"field": "amount", "op": "between", "value": ["1"]},
        {"field": "stage", "op": "in", "value": []},
        {"field": "custom.vip", "op": "eq", "value": True},
        {"field": "custom.score", "op": "eq", "value": "many"},
    ]
    with tenant_context(tenant_a), pytest.raises(ValidationError) as error:
        parse(
            {"module": "deals", "columns": ["name"], "filters": {"match": "all", "conditions": bad}},
            actor=world["admin"],
        )
    keys = set(error.value.message_dict)
    assert keys == {
        "filters.conditions.0.op",
        "filters.conditions.1.op",
        "filters.conditions.2.value",
        "filters.conditions.3.value",
        "filters.conditions.4.value",
        "filters.conditions.5.op",
        "filters.conditions.6.value",
    }
