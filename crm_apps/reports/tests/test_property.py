"""Property test: for random deals (amounts in three currencies, one without a rate; owners; stages; lead
sources; close dates), random filters and groupings, a summary report equals a reference computed here in
Python over the records the member may see - as the admin and as a rep who sees only their own deals under
private sharing (their totals include nothing else)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, role_create, sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.models import Currency
from crm_apps.engine.services import record_create
from crm_apps.modules.deals.models import Stage
from crm_apps.reports import dates
from crm_apps.reports.definition import parse
from crm_apps.reports.engine import run

DEALS = registry.get("deals")
RATES = {"USD": Decimal(1), "EUR": Decimal("1.1")}  # GBP has no rate: left out of money aggregates
NOW = dt.datetime(2027, 3, 31, 22, 0, tzinfo=dt.UTC)
CENT = Decimal("0.01")
SOURCES = ["", "Web Site", "Cold Call"]

records = st.lists(
    st.fixed_dictionaries(
        {
            "amount": st.one_of(st.none(), st.decimals(0, 10_000, places=2, allow_nan=False, allow_infinity=False)),
            "currency": st.sampled_from(["USD", "EUR", "GBP"]),
            "stage": st.integers(0, 2),
            "owner": st.integers(0, 2),  # admin, rep, other
            "lead_source": st.sampled_from(SOURCES),
            "close_date": st.dates(dt.date(2026, 10, 1), dt.date(2027, 7, 31)),
        }
    ),
    min_size=0,
    max_size=8,
)
conditions = st.one_of(
    st.tuples(st.just("amount"), st.just("gte"), st.decimals(0, 10_000, places=0)),
    st.tuples(st.just("amount"), st.just("empty"), st.none()),
    st.tuples(st.just("lead_source"), st.just("eq"), st.sampled_from(SOURCES[1:])),
    st.tuples(st.just("lead_source"), st.just("empty"), st.none()),
    st.tuples(
        st.just("close_date"), st.just("relative"), st.sampled_from(["this_quarter", "last_quarter", "next_month"])
    ),
    st.tuples(st.just("owner"), st.just("me"), st.none()),
)
GROUPINGS = ["stage", "lead_source", "owner", "close_date:month", "close_date:quarter"]


def reference_match(row, cond, actor_index, today):
    name, op, value = cond
    if name == "amount":
        return row["amount"] is None if op == "empty" else row["amount"] is not None and row["amount"] >= value
    if name == "lead_source":
        return row["lead_source"] == "" if op == "empty" else row["lead_source"] == value
    if name == "close_date":
        start, end = dates.relative_range(value, today)
        return start <= row["close_date"] <= end
    return row["owner"] == actor_index


def group_value(row, grouping, stage_ids, owner_ids):
    if grouping == "stage":
        return stage_ids[row["stage"]]
    if grouping == "owner":
        return owner_ids[row["owner"]]
    if grouping == "lead_source":
        return row["lead_source"]
    d = row["close_date"]
    month = d.month if grouping.endswith("month") else (d.month - 1) // 3 * 3 + 1
    return dt.date(d.year, month, 1).isoformat()


def reference_aggregates(rows):
    converted = [r["amount"] * RATES[r["currency"]] for r in rows if r["amount"] is not None and r["currency"] in RATES]
    if not converted:
        return {"count": len(rows), "sum_amount": None, "avg_amount": None, "min_amount": None, "max_amount": None}
    return {
        "count": len(rows),
        "sum_amount": format(sum(converted).quantize(CENT), "f"),
        "avg_amount": format((sum(converted) / len(converted)).quantize(CENT), "f"),
        "min_amount": format(min(converted).quantize(CENT), "f"),
        "max_amount": format(max(converted).quantize(CENT), "f"),
    }


@pytest.fixture
def people(tenant_a, admin_of, member):
    """Set up once per test (not per example): rates, private deals, a rep and another member in sibling roles."""
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        Currency.objects.all().delete()
        Currency.objects.create(code="USD", rate=1, is_base=True)
        Currency.objects.create(code="EUR", rate=RATES["EUR"])
        sharing_default_set(actor=admin, module="deals", access="private")
        profile = profile_save(actor=admin, profile=None, name="Property reps", flags={})
        top = Role.objects.get(parent__isnull=True)
        rep_role = role_create(actor=admin, name="Property rep", parent=top, profile_ids=[profile.pk])
        other_role = role_create(actor=admin, name="Property other", parent=top, profile_ids=[profile.pk])
        stage_ids = list(
            Stage.objects.filter(pipeline__is_default=True).order_by("position").values_list("pk", flat=True)[:3]
        )
    return [admin, member(tenant_a, role=rep_role), member(tenant_a, role=other_role)], stage_ids


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=records,
    conds=st.lists(conditions, max_size=3),
    match=st.sampled_from(["all", "any"]),
    grouping=st.lists(st.sampled_from(GROUPINGS), min_size=1, max_size=2, unique=True),
    as_rep=st.booleans(),
    with_avg=st.booleans(),
)
def test_summary_equals_the_reference(tenant_a, people, data, conds, match, grouping, as_rep, with_avg):
    """Without `avg` the subtotals and totals are merged from the deepest groups; with it, each level is a
    query of its own: both paths must match the reference."""
    owners, stage_ids = people
    admin, rep = owners[0], owners[1]
    owner_ids = [m.pk for m in owners]
    with schema_context(tenant_a.schema_name), transaction.atomic():
        for row in data:
            record_create(
                spec=DEALS,
                actor=admin,
                data={
                    "name": "P",
                    "amount": None if row["amount"] is None else str(row["amount"]),
                    "currency": row["currency"],
                    "stage": stage_ids[row["stage"]],
                    "owner": owner_ids[row["owner"]],
                    "lead_source": row["lead_source"],
                    "close_date": row["close_date"].isoformat(),
                },
            )
        actor, actor_index = (rep, 1) if as_rep else (admin, 0)
        ops = ("sum", "avg", "min", "max") if with_avg else ("sum", "min", "max")
        definition = {
            "module": "deals",
            "type": "summary",
            "group_by": grouping,
            "aggregates": [{"op": "count"}] + [{"field": "amount", "op": op} for op in ops],
            "filters": {
                "match": match,
                "conditions": [
                    {"field": n, "op": o, "value": v if not isinstance(v, Decimal) else str(v)} for n, o, v in conds
                ],
            },
        }
        with mock.patch("django.utils.timezone.now", return_value=NOW):
            result = run(parse(definition, actor=actor))
        transaction.set_rollback(True)

    today = NOW.date()  # members default to UTC
    visible = [r for r in data if not as_rep or r["owner"] == 1]
    if conds:
        test = all if match == "all" else any
        visible = [r for r in visible if test(reference_match(r, c, actor_index, today) for c in conds)]
    expected: dict[tuple, list] = {}
    for r in visible:
        key = tuple(group_value(r, g, stage_ids, owner_ids) for g in grouping)
        expected.setdefault(key, []).append(r)
    keys = [g.replace(":", "__") for g in grouping]
    wanted = ["count"] + [f"{op}_amount" for op in ops]

    def ref(rows):
        full = reference_aggregates(rows)
        return {k: full[k] for k in wanted}

    got = {tuple(row[k]["value"] for k in keys): {a: row[a] for a in wanted} for row in result["rows"]}
    assert got == {key: ref(rows) for key, rows in expected.items()}
    assert result["totals"] == ref(visible)
    for group in result["groups"]:
        members = [r for r in visible if group_value(r, grouping[0], stage_ids, owner_ids) == group["value"]]
        assert group["aggregates"] == ref(members)
    # Subtotals of the first level add up to the totals' count.
    assert sum(g["aggregates"]["count"] for g in result["groups"]) == len(visible)
