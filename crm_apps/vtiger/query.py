"""A parsed VTQL query compiled to a visibility-filtered queryset: field names checked against the
module's fields and the member's field rules, values converted by field type and passed as ORM
parameters. Every problem is a QUERY_SYNTAX_ERROR before the database sees anything."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import DateField, DateTimeField, DecimalField, F, Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _

from crm_apps.access.models import Group, Member
from crm_apps.engine import registry
from crm_apps.engine.fieldaccess import FieldRules
from crm_apps.vtiger import catalog, ids
from crm_apps.vtiger.catalog import GROUPS, USERS, WsField, WsModule
from crm_apps.vtiger.errors import QUERY_SYNTAX_ERROR, WsError
from crm_apps.vtiger.records import GROUP_PREFIX, USER_PREFIX
from crm_apps.vtiger.vtql import BoolOp, Comparison, Condition, Query

LOOKUPS = {"=": "exact", "<": "lt", ">": "gt", "<=": "lte", ">=": "gte"}


def _bad(message: str) -> WsError:
    return WsError(QUERY_SYNTAX_ERROR, message)


class Compiler:
    """One query against one module for one member."""

    def __init__(self, ws: WsModule, rules: FieldRules) -> None:
        self.ws = ws
        self.fields = catalog.visible_fields(ws, rules) if ws.spec is not None else ws.fields
        self.annotations: dict[str, Any] = {}
        self.pattern = False  # a LIKE in the condition

    # --- names ---

    def field(self, name: str) -> WsField | None:
        """None for the record id; the field otherwise (unknown and hidden fields alike are an error)."""
        if name == "id":
            return None
        f = self.fields.get(name)
        if f is None:
            raise _bad(_("Unknown field “%(field)s” in %(module)s.") % {"field": name, "module": self.ws.name})
        return f

    def path(self, f: WsField) -> str:
        if self.ws.spec is None:
            return f.attr
        if not f.custom:
            if f.type == "picklist" and f.model_field is not None and f.model_field.is_relation:
                return f"{f.attr}__name"  # pipelines, stages, folders: compared by name
            return f.orm
        alias = f"_vt_{f.attr}"
        if alias not in self.annotations:
            text = KeyTextTransform(f.attr, "custom_data")
            if f.type in catalog.NUMERIC_TYPES:
                expression: Any = Cast(text, DecimalField(max_digits=30, decimal_places=6))
            elif f.type == "date":
                expression = Cast(text, DateField())
            elif f.type == "datetime":
                expression = Cast(text, DateTimeField())
            else:
                expression = Cast(text, TextField())
            self.annotations[alias] = expression
        return alias

    # --- values ---

    def value(self, f: WsField | None, raw: Any) -> Any:
        if f is None:
            return self.id_value(raw)
        text = str(raw)
        try:
            if f.type in ("reference",) and f.target:
                parsed = ids.parse(text)
                if parsed is None:
                    raise ValueError
                found = ids.records_for(f.target, [parsed[1]]).get(parsed[1])
                if parsed[0] != catalog.prefix_of(registry.get(f.target)) or found is None:
                    return None if not f.custom else "00000000-0000-0000-0000-000000000000"
                return found if not f.custom else str(found)
            if f.type == "owner":
                parsed = ids.parse(text)
                if parsed is None:
                    raise ValueError
                return parsed
            if f.type == "boolean":
                if self.ws.spec is None and f.name == "is_admin":
                    return text.lower() in ("1", "on", "true")
                return text.lower() in ("1", "on", "true", "yes")
            if f.type in catalog.NUMERIC_TYPES:
                number = Decimal(text)
                return int(number) if f.type == "integer" and not f.custom else number
            if f.type == "date":
                return dt.date.fromisoformat(text[:10])
            if f.type == "datetime":
                moment = dt.datetime.fromisoformat(text.replace(" ", "T")[:19])
                return moment.replace(tzinfo=dt.UTC)
            if f.type == "email":
                return text.lower()
            if self.ws.spec is None and f.name == "status":
                return text.lower() == "active"
            return text
        except (ValueError, InvalidOperation, ArithmeticError) as exc:
            raise _bad(_("“%(value)s” is not a valid value for %(field)s.") % {"value": raw, "field": f.name}) from exc

    def id_value(self, raw: Any) -> Any:
        parsed = ids.parse(raw)
        if parsed is None:
            raise _bad(_("“%(value)s” is not a record id.") % {"value": raw})
        if parsed[0] != self.ws.prefix:
            return None
        if self.ws.spec is None:
            return parsed[1]
        return ids.records_for(self.ws.spec.key, [parsed[1]]).get(parsed[1])

    # --- conditions ---

    def condition(self, node: Condition) -> Q:
        if isinstance(node, BoolOp):
            parts = [self.condition(child) for child in node.children]
            combined = parts[0]
            for part in parts[1:]:
                combined = combined & part if node.op == "and" else combined | part
            return combined
        return self.comparison(node)

    def comparison(self, node: Comparison) -> Q:
        f = self.field(node.field)
        if f is None:
            return self.id_comparison(node)
        if f.type == "owner" and not f.custom:
            return self.owner_comparison(f, node)
        path = self.path(f)
        if node.op in ("like", "not like"):
            self.pattern = self.pattern or node.op == "like"
            q = Q(**{f"{path}__iregex": like_regex(str(node.values[0]))})
            return ~q if node.op == "not like" else q
        values = [self.value(f, v) for v in node.values]
        if f.type == "owner":  # a custom member field holds the member's number
            values = [v[1] if isinstance(v, tuple) and v[0] == USER_PREFIX else 0 for v in values]
        if node.op in ("in", "not in"):
            q = Q(**{f"{path}__in": values})
            return ~q if node.op == "not in" else q
        value = values[0]
        if value in (None, "") and node.op in ("=", "!="):
            empty = Q(**{f"{path}__isnull": True})
            if not f.custom and f.model_field is not None and not f.model_field.null:
                empty = Q(**{path: ""}) if f.type not in ("reference", "picklist") else Q(pk__in=[])
            elif f.type not in catalog.NUMERIC_TYPES and f.type not in ("date", "datetime", "reference"):
                empty = empty | Q(**{path: ""})
            return ~empty if node.op == "!=" else empty
        if node.op == "!=":
            return ~Q(**{path: value})
        return Q(**{f"{path}__{LOOKUPS[node.op]}": value})

    def id_comparison(self, node: Comparison) -> Q:
        if node.op in ("like", "not like"):
            raise _bad(_("LIKE does not apply to ids."))
        values = [self.id_value(v) for v in node.values]
        if node.op in ("in", "not in"):
            q = Q(pk__in=[v for v in values if v is not None])
            return ~q if node.op == "not in" else q
        if node.op not in ("=", "!="):
            raise _bad(_("Ids compare with =, != and IN only."))
        q = Q(pk=values[0]) if values[0] is not None else Q(pk__in=[])
        return ~q if node.op == "!=" else q

    def owner_comparison(self, f: WsField, node: Comparison) -> Q:
        if node.op not in ("=", "!=", "in", "not in"):
            raise _bad(_("Owners compare with =, != and IN only."))
        q = Q(pk__in=[])
        for raw in node.values:
            parsed = ids.parse(raw)
            if parsed is None:
                raise _bad(_("“%(value)s” is not a user or group id.") % {"value": raw})
            if f.attr == "owner":
                if parsed[0] == USER_PREFIX:
                    q |= Q(owner_id=parsed[1])
                elif parsed[0] == GROUP_PREFIX:
                    q |= Q(owner_group_id=parsed[1])
            elif parsed[0] == (GROUP_PREFIX if GROUPS in f.refers_to and USERS not in f.refers_to else USER_PREFIX):
                q |= Q(**{f.orm: parsed[1]})
        return ~q if node.op in ("!=", "not in") else q

    # --- the query ---

    def _sort_key(self, path: str) -> Any:
        """The column, or, when a LIKE filters the rows, an expression no index matches: walking a sort
        index and testing the pattern on every row (the planner's choice under a LIMIT, as it cannot
        know where the matches are) took seconds at a million rows; the pattern's trigram index, then
        a top-N sort of the matches, takes milliseconds."""
        return Coalesce(F(path), F(path)) if self.pattern else F(path)

    def ordering(self, query: Query) -> list[Any]:
        if not query.order:
            if self.ws.spec is None:
                return ["pk"]
            if self.pattern:
                return [self._sort_key("created_at").desc(), "-pk"]
            return ["-created_at", "-pk"]
        terms: list[Any] = []
        for name, descending in query.order:
            f = self.field(name)
            if f is None:
                key = self._sort_key("created_at")
                terms.append(key.desc() if descending else key.asc())
                continue
            path = "owner_id" if f.type == "owner" and f.attr == "owner" else self.path(f)
            expression = self._sort_key(path)
            nullable = f.custom or f.model_field is None or f.model_field.null
            if nullable:  # empty values last either way, as vtiger (MySQL) sorts them
                terms.append(expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True))
            else:  # plain ASC/DESC, so an index on the column serves the order
                terms.append(expression.desc() if descending else expression.asc())
        terms.append("-pk" if query.order[-1][1] else "pk")
        return terms

    def apply(self, queryset: QuerySet[Any], query: Query) -> QuerySet[Any]:
        condition = self.condition(query.where) if query.where is not None else Q()
        order = self.ordering(query)
        if self.annotations:
            queryset = queryset.annotate(**self.annotations)
        return queryset.filter(condition).order_by(*order)

    def columns(self, query: Query) -> list[str] | None:
        if query.columns is None:
            return None
        for name in query.columns:
            self.field(name)
        return [c for c in query.columns if c != "id"]


def like_regex(pattern: str) -> str:
    """A LIKE pattern (% any run, _ one character, both escapable with a backslash) as an anchored regex."""
    out = ["^"]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    out.append("$")
    return "".join(out)


def member_queryset() -> QuerySet[Member]:
    return Member.objects.select_related("user", "role").filter(partner_id__isnull=True)


def group_queryset() -> QuerySet[Group]:
    return Group.objects.all()
