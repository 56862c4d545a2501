"""VTQL fuzzing: generated valid queries parse and run; arbitrary text is a QUERY_SYNTAX_ERROR (or a
vtiger error naming the problem), never a SQL error, a 500 or an injection."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.vtiger import operations
from crm_apps.vtiger.errors import WsError
from crm_apps.vtiger.vtql import VtqlSyntaxError, parse

pytestmark = pytest.mark.django_db

FIELDS = {
    "lastname": st.text(max_size=12),
    "firstname": st.text(max_size=12),
    "email": st.text(max_size=12),
    "mailingcity": st.text(max_size=12),
    "birthday": st.dates(min_value=dt.date(1000, 1, 1)).map(lambda d: d.isoformat()),
    "donotcall": st.sampled_from(["0", "1"]),
    "createdtime": st.datetimes(min_value=dt.datetime(1000, 1, 1)).map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
}


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


@st.composite
def comparison(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(FIELDS)))
    value = draw(FIELDS[name]).replace("\x00", "")
    op = draw(st.sampled_from(["=", "!=", "<", ">", "<=", ">=", "LIKE", "IN"]))
    if op == "IN":
        extra = draw(st.lists(FIELDS[name], max_size=3))
        return f"{name} IN ({', '.join(_quote(v.replace(chr(0), '')) for v in [value, *extra])})"
    return f"{name} {op} {_quote(value)}"


@st.composite
def condition(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.booleans()):
        return draw(comparison())
    left = draw(condition(depth + 1))
    right = draw(condition(depth + 1))
    joined = f"{left} {draw(st.sampled_from(['AND', 'OR', 'and', 'or']))} {right}"
    return f"({joined})" if draw(st.booleans()) else joined


@st.composite
def query(draw: st.DrawFn) -> str:
    columns = draw(
        st.one_of(
            st.just("*"),
            st.just("count(*)"),
            st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=3).map(", ".join),
        )
    )
    text = f"SELECT {columns} FROM Contacts"
    if draw(st.booleans()):
        text += " WHERE " + draw(condition())
    if draw(st.booleans()):
        text += f" ORDER BY {draw(st.sampled_from(sorted(FIELDS)))} {draw(st.sampled_from(['', 'ASC', 'DESC']))}"
    if draw(st.booleans()):
        text += f" LIMIT {draw(st.integers(0, 500))}"
        if draw(st.booleans()):
            text += f", {draw(st.integers(0, 500))}"
    return text + draw(st.sampled_from([";", "", " ;"]))


@pytest.fixture
def seeded(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        for last in ("O'Brien", "Smith", "100%", "x_y"):
            record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": last})
    return admin


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=query())
def test_valid_queries_parse_and_run(text, tenant_a, seeded):
    with schema_context(tenant_a.schema_name):
        rows = operations.query(seeded, {"query": text})
    assert isinstance(rows, list) and len(rows) <= 100


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.one_of(
        st.text(max_size=200),
        query().map(lambda q: q[: len(q) // 2]),
        st.builds(lambda a, b: a + b, query(), st.text(max_size=30)),
    )
)
def test_anything_else_is_a_vtiger_error_never_sql(text, tenant_a, seeded):
    with schema_context(tenant_a.schema_name):
        try:
            rows = operations.query(seeded, {"query": text})
        except WsError as error:
            assert error.code in {"QUERY_SYNTAX_ERROR", "INVALID_MODULE", "MANDATORY_FIELDS_MISSING"}, error.code
        else:
            assert isinstance(rows, list)
        with connection.cursor() as cursor:  # the transaction is intact: no SQL error happened
            cursor.execute("SELECT 1")


def test_injection_attempts_are_values_or_syntax_errors(tenant_a, seeded):
    with schema_context(tenant_a.schema_name):
        none = operations.query(seeded, {"query": "SELECT * FROM Contacts WHERE lastname = 'x'' OR 1=1 --';"})
        quoted = operations.query(seeded, {"query": "SELECT lastname FROM Contacts WHERE lastname = 'O''Brien';"})
        with pytest.raises(WsError) as stacked:
            operations.query(seeded, {"query": "SELECT * FROM Contacts; DROP TABLE contacts_contact;"})
        percent = operations.query(seeded, {"query": "SELECT lastname FROM Contacts WHERE lastname LIKE '100\\%';"})
    assert none == []
    assert [r["lastname"] for r in quoted] == ["O'Brien"]
    assert stacked.value.code == "QUERY_SYNTAX_ERROR"
    assert [r["lastname"] for r in percent] == ["100%"]


def test_the_row_cap_and_limits():
    assert parse("select * from Contacts;").limit == 100
    assert parse("select * from Contacts limit 5000;").limit == 100
    assert (
        parse("select * from Contacts limit 200, 50;").offset,
        parse("select * from Contacts limit 200, 50;").limit,
    ) == (200, 50)
    with pytest.raises(VtqlSyntaxError):
        parse("select * from Contacts limit -1;")
