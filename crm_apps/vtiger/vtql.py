"""VTQL, vtiger's query language, parsed by hand-written recursive descent into a small syntax tree.

    query     := SELECT columns FROM name [WHERE condition] [ORDER BY order {, order}] [LIMIT n [, n]] [;]
    columns   := "*" | COUNT "(" "*" ")" | name {, name}
    condition := conj {OR conj}
    conj      := atom {AND atom}
    atom      := "(" condition ")" | name op value | name [NOT] IN "(" value {, value} ")"
                 | name [NOT] LIKE value
    op        := = | != | <> | < | > | <= | >=
    order     := name [ASC | DESC]
    value     := 'string' | "string" | number

Keywords are case-insensitive. vtiger's own parser requires the trailing ";" and knows no parentheses;
both are accepted here (a superset). Anything else is a `VtqlSyntaxError`, raised before any SQL exists:
the tree is compiled to the ORM with parameters (`crm_apps.vtiger.query`), never to SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_QUERY_LENGTH = 10_000
MAX_DEPTH = 20
MAX_IN_VALUES = 500
ROW_CAP = 100

KEYWORDS = {"select", "from", "where", "and", "or", "order", "by", "limit", "asc", "desc", "in", "like", "count", "not"}
OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")

TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),;*])
    """,
    re.VERBOSE | re.DOTALL,
)


class VtqlSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    kind: str  # name, keyword, number, string, op, punct, end
    value: str
    position: int


@dataclass
class Comparison:
    field: str
    op: str  # =, !=, <, >, <=, >=, in, not in, like, not like
    values: list[str | int | float]


@dataclass
class BoolOp:
    op: str  # and, or
    children: list[Comparison | BoolOp]


Condition = Comparison | BoolOp


@dataclass
class Query:
    module: str
    columns: list[str] | None = None  # None: *
    count: bool = False
    where: Condition | None = None
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    offset: int = 0
    limit: int = ROW_CAP


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            out.append(body[index + 1])
            index += 2
            continue
        if char == quote and index + 1 < len(body) and body[index + 1] == quote:
            out.append(quote)
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = TOKEN_RE.match(text, position)
        if match is None:
            raise VtqlSyntaxError(f"Unexpected character at position {position}.")
        kind = match.lastgroup or ""
        value = match.group(0)
        if kind == "name" and value.lower() in KEYWORDS:
            tokens.append(Token("keyword", value.lower(), position))
        elif kind == "string":
            tokens.append(Token("string", _unquote(value), position))
        elif kind != "ws":
            tokens.append(Token(kind, value, position))
        position = match.end()
    tokens.append(Token("end", "", position))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def error(self, expected: str) -> VtqlSyntaxError:
        token = self.current
        found = "end of query" if token.kind == "end" else repr(token.value)
        return VtqlSyntaxError(f"Expected {expected} at position {token.position}, found {found}.")

    def accept(self, kind: str, value: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (value is None or token.value == value):
            return self.advance()
        return None

    def expect(self, kind: str, value: str | None = None, what: str = "") -> Token:
        token = self.accept(kind, value)
        if token is None:
            raise self.error(what or value or kind)
        return token

    def name(self) -> str:
        return self.expect("name", what="a field or module name").value

    def query(self) -> Query:
        self.expect("keyword", "select", "SELECT")
        columns: list[str] | None = None
        count = False
        if self.accept("punct", "*"):
            columns = None
        elif self.accept("keyword", "count"):
            self.expect("punct", "(", "(")
            self.expect("punct", "*", "*")
            self.expect("punct", ")", ")")
            count = True
        else:
            columns = [self.name()]
            while self.accept("punct", ","):
                columns.append(self.name())
        self.expect("keyword", "from", "FROM")
        result = Query(module=self.name(), columns=columns, count=count)
        if self.accept("keyword", "where"):
            result.where = self.condition(0)
        if self.accept("keyword", "order"):
            self.expect("keyword", "by", "BY")
            result.order.append(self.order_term())
            while self.accept("punct", ","):
                result.order.append(self.order_term())
        if self.accept("keyword", "limit"):
            first = self.integer()
            if self.accept("punct", ","):
                result.offset, result.limit = first, self.integer()
            else:
                result.limit = first
        result.limit = min(result.limit, ROW_CAP)  # vtiger's cap: at most 100 rows per query
        self.accept("punct", ";")
        if self.current.kind != "end":
            raise self.error("end of query")
        return result

    def integer(self) -> int:
        token = self.expect("number", what="a number")
        if "." in token.value or token.value.startswith("-") or len(token.value) > 9:
            raise VtqlSyntaxError(f"Expected a whole number at position {token.position}.")
        return int(token.value)

    def order_term(self) -> tuple[str, bool]:
        name = self.name()
        if self.accept("keyword", "desc"):
            return name, True
        self.accept("keyword", "asc")
        return name, False

    def condition(self, depth: int) -> Condition:
        if depth > MAX_DEPTH:
            raise VtqlSyntaxError("The condition is nested too deeply.")
        parts = [self.conjunction(depth)]
        while self.accept("keyword", "or"):
            parts.append(self.conjunction(depth))
        return parts[0] if len(parts) == 1 else BoolOp("or", parts)

    def conjunction(self, depth: int) -> Condition:
        parts = [self.atom(depth)]
        while self.accept("keyword", "and"):
            parts.append(self.atom(depth))
        return parts[0] if len(parts) == 1 else BoolOp("and", parts)

    def atom(self, depth: int) -> Condition:
        if self.accept("punct", "("):
            inner = self.condition(depth + 1)
            self.expect("punct", ")", ")")
            return inner
        name = self.name()
        negated = bool(self.accept("keyword", "not"))
        if self.accept("keyword", "in"):
            self.expect("punct", "(", "(")
            values = [self.value()]
            while self.accept("punct", ","):
                values.append(self.value())
                if len(values) > MAX_IN_VALUES:
                    raise VtqlSyntaxError(f"At most {MAX_IN_VALUES} values in IN (...).")
            self.expect("punct", ")", ")")
            return Comparison(name, "not in" if negated else "in", values)
        if self.accept("keyword", "like"):
            return Comparison(name, "not like" if negated else "like", [self.value()])
        if negated:
            raise self.error("IN or LIKE after NOT")
        token = self.accept("op")
        if token is None:
            raise self.error("an operator")
        op = "!=" if token.value == "<>" else token.value
        return Comparison(name, op, [self.value()])

    def value(self) -> str | int | float:
        token = self.current
        if token.kind == "string":
            self.advance()
            return token.value
        if token.kind == "number":
            self.advance()
            return float(token.value) if "." in token.value else int(token.value)
        raise self.error("a quoted value or a number")


def parse(text: str) -> Query:
    """The syntax tree of a VTQL query; VtqlSyntaxError for anything that is not one."""
    if not isinstance(text, str) or not text.strip():
        raise VtqlSyntaxError("The query is empty.")
    if len(text) > MAX_QUERY_LENGTH:
        raise VtqlSyntaxError("The query is too long.")
    if "\x00" in text:
        raise VtqlSyntaxError("The query contains a NUL character.")
    return _Parser(tokenize(text)).query()
