"""A small, safe expression language for workflow conditions and computed values (docs/automation.md).

Source text is tokenised and parsed by hand (precedence climbing) into an immutable AST of tuples, then
evaluated by walking that tree. Nothing is ever handed to `eval`/`exec`, and there is no attribute access:
a dotted name (`organization.name`, `owner.email`, `steps.task.id`) is one *field path* that the caller's
resolver answers from the data it chose to expose. Limits bound the source length, the tree's depth and
size, the number of evaluation steps, the wall-clock time and the size of any string produced.

    amount * 1.2 > 10000 and stage = "Negotiation"
    if(is_empty(organization.name), "-", upper(organization.name))
    add_days(close_date, -3) <= today()
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MAX_SOURCE = 2000
MAX_DEPTH = 40
MAX_NODES = 400
MAX_STEPS = 5000
MAX_STRING = 10000
MAX_SECONDS = 0.2
MAX_PATH = 4

_NUMBERS = decimal.Context(prec=28, Emax=30, Emin=-30, traps=[decimal.Overflow, decimal.InvalidOperation])


class ExpressionError(ValueError):
    """Any problem with an expression: syntax, an unknown function or field, a type, a limit."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} (at {position + 1})")
        self.position = position


# ---------------------------------------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|==|[-+*/%<>=(),&])
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "true", "false", "null"}


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, keyword, end
    text: str
    position: int


def tokenize(source: str) -> list[Token]:
    if not isinstance(source, str):
        raise ExpressionError("An expression is text.")
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"An expression is at most {MAX_SOURCE} characters.")
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise ExpressionError("Unexpected character", position)
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "space":
            if kind == "name" and text.lower() in _KEYWORDS:
                kind, text = "keyword", text.lower()
            tokens.append(Token(kind, text, position))
        position = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


# ---------------------------------------------------------------------------------------------- parser
# Nodes: ("lit", value) | ("field", ("a", "b")) | ("not", x) | ("neg", x) | ("bin", op, left, right)
#        | ("and", left, right) | ("or", left, right) | ("call", name, (args...))

_BINARY = [  # lowest first
    ("or",),
    ("and",),
    ("=", "==", "!=", "<>", "<", "<=", ">", ">="),
    ("+", "-", "&"),
    ("*", "/", "%"),
]
_CANONICAL = {"==": "=", "<>": "!="}


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.nodes = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        if self.current.text != text or self.current.kind not in ("op", "keyword"):
            raise ExpressionError(f"Expected '{text}'", self.current.position)
        self.index += 1

    def node(self, value: tuple[Any, ...], depth: int) -> tuple[Any, ...]:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError("The expression is too long.")
        if depth > MAX_DEPTH:
            raise ExpressionError("The expression is nested too deeply.")
        return value

    def binary(self, level: int, depth: int) -> tuple[Any, ...]:
        if depth > MAX_DEPTH:
            raise ExpressionError("The expression is nested too deeply.", self.current.position)
        if level == len(_BINARY):
            return self.unary(depth)
        left = self.binary(level + 1, depth + 1)
        ops = _BINARY[level]
        while self.current.text in ops and self.current.kind in ("op", "keyword"):
            op = self.take().text
            right = self.binary(level + 1, depth + 1)
            if op in ("and", "or"):
                left = self.node((op, left, right), depth)
            else:
                left = self.node(("bin", _CANONICAL.get(op, op), left, right), depth)
            if level == 2 and self.current.text in ops:  # comparisons do not chain: a < b < c is an error
                raise ExpressionError("Comparisons cannot be chained", self.current.position)
        return left

    def unary(self, depth: int) -> tuple[Any, ...]:
        token = self.current
        if token.kind == "keyword" and token.text == "not":
            self.take()
            return self.node(("not", self.unary(depth + 1)), depth)
        if token.kind == "op" and token.text == "-":
            self.take()
            return self.node(("neg", self.unary(depth + 1)), depth)
        return self.primary(depth)

    def primary(self, depth: int) -> tuple[Any, ...]:
        if depth > MAX_DEPTH:
            raise ExpressionError("The expression is nested too deeply.", self.current.position)
        token = self.take()
        if token.kind == "number":
            return self.node(("lit", Decimal(token.text)), depth)
        if token.kind == "string":
            return self.node(("lit", _unquote(token.text)), depth)
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            return self.node(("lit", {"true": True, "false": False, "null": None}[token.text]), depth)
        if token.kind == "op" and token.text == "(":
            inner = self.binary(0, depth + 1)
            self.expect(")")
            return inner
        if token.kind == "name":
            if self.current.kind == "op" and self.current.text == "(":
                if "." in token.text or token.text.lower() not in FUNCTIONS:
                    raise ExpressionError(f"Unknown function '{token.text}'", token.position)
                self.take()
                args: list[tuple[Any, ...]] = []
                if not (self.current.kind == "op" and self.current.text == ")"):
                    args.append(self.binary(0, depth + 1))
                    while self.current.kind == "op" and self.current.text == ",":
                        self.take()
                        args.append(self.binary(0, depth + 1))
                self.expect(")")
                name = token.text.lower()
                low, high = FUNCTIONS[name].arity
                if not low <= len(args) <= high:
                    raise ExpressionError(f"Wrong number of arguments for {name}()", token.position)
                return self.node(("call", name, tuple(args)), depth)
            path = tuple(token.text.split("."))
            if len(path) > MAX_PATH:
                raise ExpressionError("A field path is too long.", token.position)
            return self.node(("field", path), depth)
        raise ExpressionError("Unexpected " + (f"'{token.text}'" if token.text else "end"), token.position)


def parse(source: str) -> tuple[Any, ...]:
    """The AST of `source`; ExpressionError with a position when it is not a valid expression."""
    tokens = tokenize(source)
    if len(tokens) == 1:
        raise ExpressionError("The expression is empty.")
    parser = _Parser(tokens)
    tree = parser.binary(0, 0)
    if parser.current.kind != "end":
        raise ExpressionError(f"Unexpected '{parser.current.text}'", parser.current.position)
    return tree


def fields_of(tree: tuple[Any, ...]) -> set[tuple[str, ...]]:
    """Every field path the expression reads (for validation against a module's fields)."""
    kind = tree[0]
    if kind == "field":
        return {tree[1]}
    if kind == "lit":
        return set()
    if kind == "call":
        return set().union(*(fields_of(a) for a in tree[2])) if tree[2] else set()
    if kind in ("not", "neg"):
        return fields_of(tree[1])
    children = tree[2:] if kind == "bin" else tree[1:]
    return set().union(*(fields_of(c) for c in children))


# ------------------------------------------------------------------------------------------ evaluation

Resolver = Callable[[tuple[str, ...]], Any]


@dataclass
class _Budget:
    steps: int = 0
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExpressionError("The expression took too many steps.")
        if self.steps % 64 == 0 and time.monotonic() > self.deadline:
            raise ExpressionError("The expression took too long.")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dt.datetime):
        return "date-time"
    if isinstance(value, dt.date):
        return "date"
    return "value"


def normalise(value: Any) -> Any:
    """A value from a record (int, float, Decimal, date, datetime, str, bool, None) in the language's types."""
    if value is None or isinstance(value, (bool, str, Decimal, dt.date)):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(_NUMBERS), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _clip(value: str) -> str:
    if len(value) > MAX_STRING:
        raise ExpressionError(f"A text value is limited to {MAX_STRING} characters.")
    return value


def _number(value: Any, what: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    raise ExpressionError(f"{what} needs a number, not {_type_name(value)}.")


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise ExpressionError(f"A date is needed, not {_type_name(value)}.")


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, Decimal):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, dt.date) and isinstance(right, dt.date):
        if isinstance(left, dt.datetime) != isinstance(right, dt.datetime):
            return _day(left), _day(right)
        return left, right
    if type(left) is not type(right) and not (isinstance(left, Decimal) and isinstance(right, Decimal)):
        raise ExpressionError(f"Cannot compare {_type_name(left)} with {_type_name(right)}.")
    if isinstance(left, bool):
        raise ExpressionError("Booleans are compared with = and != only.")
    return left, right


def _binary(op: str, left: Any, right: Any) -> Any:
    if op in ("=", "!="):
        if isinstance(left, dt.date) and isinstance(right, dt.date):
            left, right = _comparable(left, right)
        elif {type(left), type(right)} == {str, Decimal}:
            left, right = _text(left), _text(right)  # a picklist or a name read as text compares to a number
        equal = left == right and (isinstance(left, bool) == isinstance(right, bool))
        return equal if op == "=" else not equal
    if op in ("<", "<=", ">", ">="):
        if left is None or right is None:
            return False
        a, b = _comparable(left, right)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op == "&":
        return _clip(_text(left) + _text(right))
    if left is None or right is None:
        return None  # arithmetic over an empty field is empty
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return _clip(left + right)
    if op in ("+", "-") and isinstance(left, dt.date) and isinstance(right, Decimal):
        days = int(right) if op == "+" else -int(right)
        return _add_days(left, Decimal(days))
    if op == "-" and isinstance(left, dt.date) and isinstance(right, dt.date):
        return Decimal((_day(left) - _day(right)).days)
    a, b = _number(left, op), _number(right, op)
    try:
        if op == "+":
            return _NUMBERS.add(a, b)
        if op == "-":
            return _NUMBERS.subtract(a, b)
        if op == "*":
            return _NUMBERS.multiply(a, b)
        if b == 0:
            raise ExpressionError("Division by zero.")
        if op == "/":
            return _NUMBERS.divide(a, b)
        return _NUMBERS.remainder(a, b)
    except (decimal.Overflow, decimal.InvalidOperation) as exc:
        raise ExpressionError("A number is out of range.") from exc


def _add_days(value: Any, days: Any) -> Any:
    amount = int(_number(days, "add_days"))
    if abs(amount) > 100000:
        raise ExpressionError("A number is out of range.")
    if not isinstance(value, dt.date):
        raise ExpressionError(f"A date is needed, not {_type_name(value)}.")
    try:
        return value + dt.timedelta(days=amount)
    except OverflowError as exc:
        raise ExpressionError("A date is out of range.") from exc


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ExpressionError("date() reads YYYY-MM-DD.") from exc


def _substr(value: Any, start: Any, length: Any = None) -> str:
    text = _text(value)
    begin = max(int(_number(start, "substr")) - 1, 0)
    if length is None:
        return text[begin:]
    return text[begin : begin + max(int(_number(length, "substr")), 0)]


def _round(value: Any, places: Any = Decimal(0)) -> Any:
    if value is None:
        return None
    digits = int(_number(places, "round"))
    if not 0 <= digits <= 10:
        raise ExpressionError("round() keeps 0 to 10 decimal places.")
    try:
        return _number(value, "round").quantize(
            Decimal(1).scaleb(-digits), rounding=decimal.ROUND_HALF_UP, context=_NUMBERS
        )
    except decimal.InvalidOperation as exc:
        raise ExpressionError("A number is out of range.") from exc


def _to_number(value: Any) -> Any:
    if value is None or isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip()) if re.fullmatch(r"-?\d{1,20}(\.\d{1,10})?", str(value).strip()) else None
    except decimal.InvalidOperation:
        return None


def _replace(value: Any, old: Any, new: Any) -> str:
    text, a, b = _text(value), _text(old), _text(new)
    if not a:
        return text
    if len(b) > len(a) and text.count(a) * (len(b) - len(a)) + len(text) > MAX_STRING:
        raise ExpressionError(f"A text value is limited to {MAX_STRING} characters.")
    return text.replace(a, b)


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def run(*values: Any) -> Any:
        present = [v for v in values if v is not None]
        if not present:
            return None
        for v in present:
            _comparable(present[0], v)
        return pick(present)

    return run


@dataclass(frozen=True)
class Function:
    arity: tuple[int, int]
    run: Callable[..., Any]
    doc: str
    needs_context: bool = False


FUNCTIONS: dict[str, Function] = {
    "if": Function((2, 3), lambda *a: None, "if(condition, then, else): the second or third value (lazy)."),
    "coalesce": Function(
        (1, 10),
        lambda *a: next((v for v in a if v not in (None, "")), None),
        "coalesce(a, b, ...): the first non-empty value.",
    ),
    "is_empty": Function((1, 1), lambda v: v is None or v == "", "is_empty(x): true for an empty field."),
    "upper": Function((1, 1), lambda v: _text(v).upper(), "upper(text)."),
    "lower": Function((1, 1), lambda v: _text(v).lower(), "lower(text)."),
    "trim": Function((1, 1), lambda v: _text(v).strip(), "trim(text): without surrounding spaces."),
    "len": Function((1, 1), lambda v: Decimal(len(_text(v))), "len(text): its number of characters."),
    "concat": Function((1, 10), lambda *a: _clip("".join(_text(v) for v in a)), "concat(a, b, ...): the texts joined."),
    "contains": Function(
        (2, 2), lambda v, p: _text(p).lower() in _text(v).lower(), "contains(text, part): ignoring case."
    ),
    "starts_with": Function(
        (2, 2), lambda v, p: _text(v).lower().startswith(_text(p).lower()), "starts_with(text, part)."
    ),
    "substr": Function((2, 3), _substr, "substr(text, start, length): start counts from 1."),
    "replace": Function((3, 3), _replace, "replace(text, old, new)."),
    "text": Function((1, 1), lambda v: _text(v), "text(x): x as text."),
    "number": Function((1, 1), _to_number, "number(text): the number it spells, or null."),
    "round": Function((1, 2), _round, "round(number, places)."),
    "abs": Function((1, 1), lambda v: None if v is None else abs(_number(v, "abs")), "abs(number)."),
    "min": Function((1, 10), _extreme(min), "min(a, b, ...): the smallest non-empty value."),
    "max": Function((1, 10), _extreme(max), "max(a, b, ...): the largest non-empty value."),
    "today": Function((0, 0), lambda: None, "today(): the date in the workspace's time zone.", needs_context=True),
    "now": Function((0, 0), lambda: None, "now(): the current date and time.", needs_context=True),
    "date": Function((1, 1), lambda v: None if v in (None, "") else _date(v), "date('YYYY-MM-DD')."),
    "add_days": Function((2, 2), lambda d, n: None if d is None else _add_days(d, n), "add_days(date, n)."),
    "days_between": Function(
        (2, 2),
        lambda a, b: None if a is None or b is None else Decimal((_day(b) - _day(a)).days),
        "days_between(a, b): b minus a in days.",
    ),
    "year": Function((1, 1), lambda d: None if d is None else Decimal(_day(d).year), "year(date)."),
    "month": Function((1, 1), lambda d: None if d is None else Decimal(_day(d).month), "month(date)."),
    "day": Function((1, 1), lambda d: None if d is None else Decimal(_day(d).day), "day(date)."),
    "changed": Function(
        (1, 1), lambda f: None, "changed('field'): the field changed in this save.", needs_context=True
    ),
    "previous": Function((1, 1), lambda f: None, "previous('field'): its value before this save.", needs_context=True),
}


@dataclass
class Context:
    """What an expression may read: `resolve(path)` answers field paths (raising KeyError for unknown
    ones); `changes` are this save's {field: [old, new]}; `now` is the moment of evaluation."""

    resolve: Resolver
    changes: dict[str, list[Any]] = field(default_factory=dict)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    today: dt.date | None = None


def evaluate(tree: tuple[Any, ...], context: Context) -> Any:  # noqa: C901 - one branch per node kind
    """The value of a parsed expression."""
    budget = _Budget()

    def walk(node: tuple[Any, ...]) -> Any:
        budget.tick()
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "field":
            try:
                value = context.resolve(node[1])
            except KeyError as exc:
                raise ExpressionError(f"Unknown field '{'.'.join(node[1])}'") from exc
            return normalise(value)
        if kind == "and":
            return truthy(walk(node[1])) and truthy(walk(node[2]))
        if kind == "or":
            return truthy(walk(node[1])) or truthy(walk(node[2]))
        if kind == "not":
            return not truthy(walk(node[1]))
        if kind == "neg":
            value = walk(node[1])
            return None if value is None else -_number(value, "-")
        if kind == "bin":
            return _binary(node[1], walk(node[2]), walk(node[3]))
        name, args = node[1], node[2]
        if name == "if":
            if truthy(walk(args[0])):
                return walk(args[1])
            return walk(args[2]) if len(args) > 2 else None
        values = [walk(a) for a in args]
        if name == "today":
            return context.today or context.now.date()
        if name == "now":
            return context.now
        if name in ("changed", "previous"):
            key = _text(values[0])
            if name == "changed":
                return key in context.changes
            return normalise(context.changes[key][0]) if key in context.changes else _field_now(key)
        try:
            return FUNCTIONS[name].run(*values)
        except ExpressionError:
            raise
        except (ValueError, TypeError, ArithmeticError, OverflowError) as exc:
            raise ExpressionError(f"{name}(): {type(exc).__name__}") from exc

    def _field_now(key: str) -> Any:
        try:
            return normalise(context.resolve(tuple(key.split("."))))
        except KeyError as exc:
            raise ExpressionError(f"Unknown field '{key}'") from exc

    try:
        return walk(tree)
    except RecursionError as exc:  # pragma: no cover - depth is bounded by the parser
        raise ExpressionError("The expression is nested too deeply.") from exc


def evaluate_source(source: str, context: Context) -> Any:
    return evaluate(parse(source), context)


def mapping_resolver(data: dict[str, Any]) -> Resolver:
    """A resolver over nested dicts (tests, previews): `a.b` reads data["a"]["b"]; nothing else."""

    def resolve(path: tuple[str, ...]) -> Any:
        value: Any = data
        for part in path:
            if not isinstance(value, dict) or part not in value:
                raise KeyError(".".join(path))
            value = value[part]
        if isinstance(value, dict):
            raise KeyError(".".join(path))
        return value

    return resolve
