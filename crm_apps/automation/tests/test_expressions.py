"""The expression language: behaviour, limits, property tests against a reference, and fuzzing."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_apps.automation import expressions as ex
from crm_apps.automation.expressions import Context, ExpressionError, evaluate_source, mapping_resolver

RECORD = {
    "amount": Decimal("1500.50"),
    "name": "Big deal",
    "stage": "Negotiation",
    "close_date": dt.date(2026, 12, 20),
    "probability": 40,
    "empty": None,
    "organization": {"name": "Acme", "city": "Riga"},
    "owner": {"name": "Mia", "email": "mia@example.com"},
}


def run(source: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return evaluate_source(source, Context(resolve=mapping_resolver(RECORD if data is None else data), **kwargs))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("10 / 4", Decimal("2.5")),
        ("7 % 3", Decimal(1)),
        ("-amount + 0.5", Decimal(-1500)),
        ("amount > 1000 and stage = 'Negotiation'", True),
        ('amount > 1000 and not (stage == "Negotiation")', False),
        ("probability < 10 or probability >= 40", True),
        ("name & ' / ' & organization.name", "Big deal / Acme"),
        ("upper(owner.name)", "MIA"),
        ("if(is_empty(empty), 'none', 'some')", "none"),
        ("if(false, 1)", None),
        ("coalesce(empty, organization.city)", "Riga"),
        ("substr('abcdef', 2, 3)", "bcd"),
        ("replace(name, 'Big', 'Small')", "Small deal"),
        ("len(trim('  ab  '))", Decimal(2)),
        ("contains(organization.name, 'AC')", True),
        ("starts_with(name, 'big')", True),
        ("round(2.345, 2)", Decimal("2.35")),
        ("abs(-3)", Decimal(3)),
        ("max(1, 5, 3)", Decimal(5)),
        ("min(empty, 4, 2)", Decimal(2)),
        ("number('12.5') * 2", Decimal("25.0")),
        ("text(12) & 'x'", "12x"),
        ("add_days(close_date, -3)", dt.date(2026, 12, 17)),
        ("close_date - 1", dt.date(2026, 12, 19)),
        ("days_between(date('2026-12-01'), close_date)", Decimal(19)),
        ("close_date - date('2026-12-10')", Decimal(10)),
        ("year(close_date) * 100 + month(close_date)", Decimal(202612)),
        ("day(close_date)", Decimal(20)),
        ("empty + 1", None),
        ("empty = null", True),
        ("empty > 1", False),
        ("probability = '40'", True),
        ("true != false", True),
    ],
)
def test_values(source: str, expected: Any) -> None:
    assert run(source) == expected


def test_today_now_and_changes() -> None:
    now = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)
    context = Context(resolve=mapping_resolver(RECORD), changes={"stage": ["Qualification", "Negotiation"]}, now=now)
    assert ex.evaluate_source("add_days(today(), 15) = close_date", context) is True
    assert ex.evaluate_source("changed('stage') and previous('stage') = 'Qualification'", context) is True
    assert ex.evaluate_source("changed('amount')", context) is False
    assert ex.evaluate_source("previous('amount')", context) == Decimal("1500.50")


@pytest.mark.parametrize(
    "source",
    [
        "",
        "1 +",
        "(1",
        "foo(1)",
        "upper(1, 2)",
        "1 < 2 < 3",
        "a..b",
        "__import__('os')",
        "name.__class__",
        "x = 1; y",
        "[1]",
        "a.b.c.d.e",
        "'unterminated",
        "lambda: 1",
    ],
)
def test_syntax_errors_are_expression_errors(source: str) -> None:
    with pytest.raises(ExpressionError):
        run(source)


@pytest.mark.parametrize(
    "source",
    [
        "unknown_field",
        "organization.missing",
        "organization",  # a related record is not a value: only its fields are
        "'a' < 1",
        "name * 2",
        "1 / 0",
        "99999999999999999999 * 99999999999999999999 * 99999999999999999999",
        "add_days(name, 1)",
        "date('nope')",
        "round(1, 99)",
    ],
)
def test_runtime_errors_are_expression_errors(source: str) -> None:
    with pytest.raises(ExpressionError):
        run(source)


def test_limits_on_size_depth_and_output() -> None:
    with pytest.raises(ExpressionError, match="characters"):
        ex.parse("1+" * 1500 + "1")
    with pytest.raises(ExpressionError, match="deeply"):
        ex.parse("(" * 60 + "1" + ")" * 60)
    with pytest.raises(ExpressionError, match="deeply"):
        ex.parse("not " * 60 + "true")
    with pytest.raises(ExpressionError, match="long"):
        ex.parse(" + ".join(["1"] * 450))
    long_text = "'" + "x" * 1000 + "'"
    doubling = long_text
    with pytest.raises(ExpressionError, match="characters"):
        for _ in range(5):
            doubling = f"concat({doubling}, {doubling})"
            run(doubling)
    with pytest.raises(ExpressionError, match="characters"):
        run(f"replace({long_text}, 'x', '{'y' * 50}')")


def test_the_step_budget_stops_long_evaluations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ex, "MAX_STEPS", 10)
    with pytest.raises(ExpressionError, match="steps"):
        run(" + ".join(["1"] * 20))


def test_fields_of_lists_every_path() -> None:
    tree = ex.parse("if(amount > 1, organization.name, upper(owner.email)) & -probability")
    assert ex.fields_of(tree) == {("amount",), ("organization", "name"), ("owner", "email"), ("probability",)}


# ------------------------------------------------------------------- property tests against a reference

_ints = st.integers(min_value=-1000, max_value=1000)


def _arith() -> st.SearchStrategy[tuple[str, Any]]:
    """(source, reference value as a Fraction or None for division by zero) of arithmetic expressions."""
    leaves = _ints.map(lambda n: (f"({n})" if n < 0 else str(n), Fraction(n)))

    def combine(children: st.SearchStrategy[tuple[str, Any]]) -> st.SearchStrategy[tuple[str, Any]]:
        def build(op: str, a: tuple[str, Any], b: tuple[str, Any]) -> tuple[str, Any]:
            value: Any
            if a[1] is None or b[1] is None:
                value = None
            elif op == "+":
                value = a[1] + b[1]
            elif op == "-":
                value = a[1] - b[1]
            elif op == "*":
                value = a[1] * b[1]
            else:
                value = None if b[1] == 0 else a[1] / b[1]
            return f"({a[0]} {op} {b[0]})", value

        return st.builds(build, st.sampled_from("+-*/"), children, children)

    return st.recursive(leaves, combine, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(_arith())
def test_arithmetic_matches_exact_fractions(case: tuple[str, Any]) -> None:
    source, reference = case
    try:
        value = run(source, {})
    except ExpressionError:
        assert reference is None or abs(reference) > 10**25 or reference.denominator != 1
        return
    assert reference is not None
    assert abs(Fraction(value) - reference) <= abs(reference) * Fraction(1, 10**20) + Fraction(1, 10**20)


@settings(max_examples=300, deadline=None)
@given(a=_ints, b=_ints, c=st.booleans(), d=st.booleans())
def test_comparisons_and_logic_match_python(a: int, b: int, c: bool, d: bool) -> None:
    data = {"a": a, "b": b, "c": c, "d": d}
    assert run("a < b", data) is (a < b)
    assert run("a >= b", data) is (a >= b)
    assert run("a = b or c", data) is (a == b or c)
    assert run("not c and d", data) is ((not c) and d)
    assert run("if(c, a, b)", data) == (a if c else b)
    assert run("max(a, b) - min(a, b)", data) == abs(a - b)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=10))
def test_text_functions_match_python(value: str, part: str) -> None:
    data = {"v": value, "p": part}
    assert run("upper(v)", data) == value.upper()
    assert run("len(v)", data) == len(value)
    assert run("v & p", data) == value + part
    assert run("contains(v, p)", data) is (part.lower() in value.lower())
    assert run("trim(v)", data) == value.strip()


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)), st.integers(-5000, 5000))
def test_date_functions_match_python(day: dt.date, shift: int) -> None:
    data = {"d": day, "n": shift}
    assert run("add_days(d, n)", data) == day + dt.timedelta(days=shift)
    assert run("days_between(d, add_days(d, n))", data) == shift
    assert run("year(d)", data) == day.year


# ----------------------------------------------------------------------------------------------- fuzzing

_ALPHABET = st.sampled_from(
    [
        *list("abcdefghijklmnopqrstuvwxyz_.()'\",+-*/%<>=!& 0123456789"),
        "and ",
        "or ",
        "not ",
        "__class__",
        "__import__",
        "os",
        "eval",
        "exec",
        "open",
        "self",
        "globals",
        *list(ex.FUNCTIONS),
        "name",
        "organization.name",
        "other.secret",
        "owner.email",
    ]
)


class _Spy:
    """A resolver over one record that records what was read; another record sits beside it, unreachable."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, ...]] = []
        self.data = {"name": "Mine", "organization": {"name": "Acme"}, "owner": {"email": "o@example.com"}}
        self.other_record = {"name": "zq9-not-yours", "secret": "zq9-private"}

    def __call__(self, path: tuple[str, ...]) -> Any:
        self.reads.append(path)
        return mapping_resolver(self.data)(path)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, max_size=30).map("".join))
def test_fuzzed_sources_only_ever_give_a_value_or_an_expression_error(source: str) -> None:
    spy = _Spy()
    try:
        value = evaluate_source(source, Context(resolve=spy))
    except ExpressionError:
        value = None
    # The only values an expression can produce are the language's own types: never a Python object.
    assert value is None or isinstance(value, (bool, str, Decimal, dt.date))
    # It only ever asked the resolver for plain field paths of this record, never dunder names.
    for path in spy.reads:
        assert all(part.isidentifier() and not part.startswith("_") for part in path)
    assert "zq9" not in str(value)  # nothing of the other record can come out


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_never_raises_anything_but_expression_error(source: str) -> None:
    with contextlib.suppress(ExpressionError):
        evaluate_source(source, Context(resolve=_Spy()))
