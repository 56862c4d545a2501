"""Generic reads. Every queryset of records starts at `_base`, which applies the visibility filter."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.postgres.search import SearchQuery, TrigramSimilarity
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import field_types, links, metadata, registry
from crm_apps.engine.models import Comment, CrmRecord, CustomField, Follow, RecentView, SavedView, TimelineEntry
from crm_apps.engine.spec import ModuleSpec
from saas import cache_versions
from saas.prepared import Compiled, Prepared
from tenants.runtime import current_schema

PAGE_SIZE = 25
# Query parameters of a list's address that are not filters (the list page, its export, saved views).
LIST_PARAMS = frozenset({"q", "ordering", "cursor", "view", "saved", "limit", "count"})
MAX_PAGE_SIZE = 100
EXACT_COUNT_LIMIT = 10_000
# Planner cost units (about one 8 kB page read each) the exact count may take; above it, the estimate, and
# the list offers the exact count on demand (issue 25: a search matching ~1,200 of a member's contacts
# among 1M cost 16,900 units, 18 ms per page view, more than the page's own rows).
EXACT_COUNT_MAX_COST = 4_000
WORD_RE = re.compile(r"[\w@.+-]+", re.UNICODE)
# Seconds a list's planner estimate (its "about N records" and how it is read) is reused.
ESTIMATE_TTL = 60
# How long a member's saved views of a module stay cached (a write changes the version sooner).
SAVED_VIEWS_TTL = 3600
# A search the planner expects to match at most this many visible rows is read through the search index and
# sorted (`search_first`), never by walking the list order's index (see record_list).
SEARCH_FIRST_MAX_ROWS = 5_000
# Characters with a meaning in tsquery syntax are dropped from search words.
TSQUERY_UNSAFE = re.compile(r"[^\w@.+-]|[:&|!()<>*'\\]", re.UNICODE)
# Marks the statement of `_search_candidates` (logs, EXPLAIN and tests tell it from the visible reads).
SEARCH_PROBE_MARK = "/* global search: modules with a match */"
# The text search configuration of every search vector and query (no stemming: names, numbers, addresses).
SEARCH_CONFIG = "simple"


def _base(spec: ModuleSpec, actor: Member, *, deleted: bool = False) -> QuerySet[Any]:
    qs = spec.records().filter(deleted_at__isnull=not deleted)
    return visibility.visible_records(actor=actor, spec=spec, queryset=qs)


def access_record(*, spec: ModuleSpec, actor: Member, record_id: Any, flags: dict[str, Any] | None = None) -> Any:
    """The live record if `actor` may see it; None for missing and forbidden alike. `flags`: expressions over
    the record (`following_flag`, `related_flag`, ...) read in the same statement, as attributes of it.

    The statement is compiled once per process for the member, the tenant's versions and the flags' names
    (as record_list's: `_statement_key`), with a stand-in id that each call replaces by the record's. A flag
    name must always stand for the same expression for a module and member (the record page's do)."""
    try:
        pk = uuid.UUID(str(record_id))
    except ValueError:
        return None
    key = _statement_key(spec, actor, ("record", tuple(sorted(flags or ()))))
    statement = _statement_get(key, spec)
    if statement is None:
        compiled = Compiled(_record_query(spec, actor, RECORD_ID_STAND_IN, flags)[:1])
        slots = [i for i, p in enumerate(compiled.params) if isinstance(p, uuid.UUID) and p == RECORD_ID_STAND_IN]
        if compiled.sql and len(slots) != 1:  # an unexpected shape: the queryset, as it is
            return next(iter(_record_query(spec, actor, pk, flags)[:1]), None)
        statement = _RecordStatement(spec, compiled, slots[0] if slots else -1)
        _statement_put(key, statement)
    if statement.slot < 0:  # no statement: the member sees nothing of this module
        return None
    params = list(statement.compiled.params)
    params[statement.slot] = pk
    found = statement.compiled.run(params)
    return found[0] if found else None


# The id record statements are compiled with (access_record), replaced by the record's on every call.
RECORD_ID_STAND_IN = uuid.UUID("00000000-0000-4000-8000-00000000dead")


def _record_query(spec: ModuleSpec, actor: Member, pk: uuid.UUID, flags: dict[str, Any] | None) -> QuerySet[Any]:
    related = [n for n in spec.form_fields if isinstance(spec.model._meta.get_field(n), models.ForeignKey)]
    # No ORDER BY for a primary-key lookup (the model's default ordering costs compile time, not rows).
    found = _base(spec, actor).select_related("owner__user", "owner_group", *related).filter(pk=pk).order_by()
    if flags:
        found = found.annotate(**flags)
    return found


def following_flag(*, spec: ModuleSpec, actor: Member) -> Exists:
    """For `access_record(flags=...)`: whether `actor` follows the record."""
    return Exists(Follow.objects.filter(member=actor, module=spec.key, record_id=OuterRef("pk")))


def related_flag(*, spec: ModuleSpec, related_key: str) -> Exists:
    """For `access_record(flags=...)`: whether any live record of the related list `related_key` points at the
    record at all, whoever may see it. Without one the list is empty for every member, and the record page
    does not read it (`related_records` filters by visibility when there are some)."""
    relation = next(r for r in spec.related if r.module == related_key)
    other = registry.get(relation.module)
    return Exists(other.records().filter(deleted_at__isnull=True, **{relation.via: OuterRef("pk")}))


def comments_flag(*, spec: ModuleSpec) -> Exists:
    """For `access_record(flags=...)`: whether the record has comments (the page reads them only then)."""
    return Exists(Comment.objects.filter(module=spec.key, record_id=OuterRef("pk")))


# ---------------------------------------------------------------------------------------------
# Lists


@dataclass
class Page:
    records: list[Any]
    next_cursor: str | None
    previous_cursor: str | None


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def _decode(cursor: str) -> tuple[str, list[Any]]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        direction, values = payload[0], payload[1:]
        assert direction in ("n", "p")
        return direction, values
    except Exception as exc:
        raise ValidationError({"cursor": [_("Invalid cursor.")]}) from exc


def ordering_for(spec: ModuleSpec, ordering: str | None, *, hidden: Collection[str] = ()) -> list[str]:
    """A validated ordering: one sortable field (or the module default), always ending with the id.
    Fields hidden from the member cannot be sorted on (the order would reveal their values)."""
    if not ordering:
        fields = list(spec.default_ordering)
    else:
        name = ordering.lstrip("-")
        if name not in sortable_columns(spec) or name in hidden:
            raise ValidationError({"ordering": [_("You cannot sort by “%(field)s”.") % {"field": name}]})
        fields = [ordering]
    last = fields[-1]
    fields.append("-id" if last.startswith("-") else "id")
    return fields


def sortable_columns(spec: ModuleSpec) -> set[str]:
    """Columns keyset pagination can sort on: plain, non-null values (NULLs and references would make
    pages skip rows)."""
    names = {"created_at", "updated_at", "number"}
    for name in spec.list_columns:
        field: Any = spec.model._meta.get_field(name)
        if not isinstance(field, models.ForeignKey) and not field.null:
            names.add(name)
    return names


def _field_value(record: Any, name: str) -> Any:
    field = record._meta.get_field(name)
    return getattr(record, field.attname)


def _keyset_q(ordering: list[str], values: list[Any], direction: str) -> Q:
    """Rows strictly after (or before) `values` in `ordering` (NULL-safe enough for our non-null sort keys)."""
    clauses = Q()
    for index, term in enumerate(ordering):
        name = term.lstrip("-")
        descending = term.startswith("-")
        forward = descending if direction == "n" else not descending
        op = "lt" if forward else "gt"
        equal = Q(**{f"{ordering[j].lstrip('-')}": values[j] for j in range(index)})
        clauses |= equal & Q(**{f"{name}__{op}": values[index]})
    # The OR above is exact but not an index condition: PostgreSQL would walk the sort index from the
    # first row and filter every row above the cursor (a second for a page 100,000 rows down). The
    # first key's inclusive bound says the same thing redundantly and starts the index scan there.
    first = ordering[0]
    forward = first.startswith("-") if direction == "n" else not first.startswith("-")
    return Q(**{f"{first.lstrip('-')}__{'lte' if forward else 'gte'}": values[0]}) & clauses


def _filter_value(field: models.Field[Any, Any], raw: str) -> Any:
    if isinstance(field, models.ForeignKey):
        target = field.remote_field.model
        try:
            registry.spec_for_model(target)
        except registry.UnknownModule:
            return int(raw)  # members, groups, pipelines, stages: integer ids
        return uuid.UUID(raw)
    if isinstance(field, models.BooleanField):
        return raw.lower() in {"1", "true", "yes", "on"}
    return field.to_python(raw)


def apply_filters(
    spec: ModuleSpec, qs: QuerySet[Any], filters: dict[str, str], *, hidden: Collection[str] = ()
) -> QuerySet[Any]:
    """Filter on allowed standard fields (`field`, `field__gte`, `field__lte`) and custom fields
    (`custom.key`, `custom.key__gte` ...). Unknown fields, and fields hidden from the member, are a
    400, never ignored."""
    custom = {f.key: f for f in metadata.custom_fields(spec.key) if f"custom.{f.key}" not in hidden}
    allowed = {*spec.filter_fields, "owner", "tags", "created_at", "updated_at"} - set(hidden)
    errors: dict[str, list[str]] = {}
    for key, raw in filters.items():
        name, _sep, op = key.partition("__")
        op = op or "eq"
        if op not in ("eq", "gte", "lte"):
            errors[key] = [_("Unknown filter.")]
            continue
        if not isinstance(raw, str) or len(raw) > 200 or "\x00" in raw:
            errors[key] = [_("Enter a valid value.")]
            continue
        try:
            if name.startswith("custom."):
                cf: CustomField | None = custom.get(name[7:])
                if cf is None:
                    errors[key] = [_("Unknown filter.")]
                    continue
                condition, annotations = field_types.filter_q(cf, raw, op=op)
                qs = qs.annotate(**annotations).filter(condition) if annotations else qs.filter(condition)
            elif name in allowed:
                if name == "tags":
                    qs = qs.filter(tags__contains=[raw])
                    continue
                field = spec.model._meta.get_field(name)
                if raw == "" and op == "eq":
                    qs = qs.filter(**{f"{name}__isnull": True}) if field.null else qs.filter(**{name: ""})
                    continue
                value = _filter_value(field, raw)  # type: ignore[arg-type]
                lookup = name if op == "eq" else f"{name}__{op}"
                if op == "eq" and isinstance(field, models.CharField) and name not in spec.picklists:
                    lookup = f"{name}__iexact"
                qs = qs.filter(**{lookup: value})
            else:
                errors[key] = [_("Unknown filter.")]
        except (ValidationError, ValueError, TypeError, ArithmeticError):
            errors[key] = [_("Enter a valid value.")]
    if errors:
        raise ValidationError(errors)
    return qs


def search_terms(text: str) -> str | None:
    """The tsquery text of a prefix match (every word must start a word of the record), or None."""
    words = WORD_RE.findall(text or "")[:8]
    if not words:
        return None
    cleaned = [TSQUERY_UNSAFE.sub("", w) for w in words]
    return " & ".join(f"{w}:*" for w in cleaned if w) or None


def search_query(text: str) -> SearchQuery | None:
    """Prefix-matching full-text query: every word must start a word of the record."""
    terms = search_terms(text)
    return SearchQuery(terms, search_type="raw", config=SEARCH_CONFIG) if terms else None


def record_list(
    *,
    spec: ModuleSpec,
    actor: Member,
    filters: dict[str, str] | None = None,
    search: str = "",
    ordering: str | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    default_view: bool = True,
    all_columns: bool = False,
    columns: Collection[str] | None = None,
    search_first: bool = False,
) -> Page:
    """One page of live, visible records, keyset-paginated; selects only what list pages show
    (`columns`: the member's layout, else the module's list columns), or every column, without joins,
    for the API.

    `search_first` (a search expected to match few rows, SEARCH_FIRST_MAX_ROWS): the sort keys are wrapped
    so no index can give the order, and PostgreSQL reads the matches through the search index, then sorts
    them. Otherwise it may walk the list order's index and test every row against the search, counting on
    matches spread evenly: a member's search for "Müller" among 1M contacts read 568 ms that way, 15 ms
    this way (issue 25)."""
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    key = _statement_key(
        spec,
        actor,
        (
            tuple(sorted(filters.items())) if filters else (),
            search,
            ordering,
            cursor,
            limit,
            default_view,
            all_columns,
            tuple(columns) if columns is not None else None,
            search_first,
        ),
    )
    statement = _statement_get(key, spec)
    if statement is None:
        qs, order, direction = _record_list_query(
            spec=spec,
            actor=actor,
            filters=filters,
            search=search,
            ordering=ordering,
            cursor=cursor,
            limit=limit,
            all_columns=all_columns,
            columns=columns,
            search_first=search_first,
            default_view=default_view,
        )
        try:
            statement = _ListStatement(spec, Compiled(qs[: limit + 1]), order, direction)
        except ValueError:  # a shape the compiled path does not handle (annotated custom-field filters)
            rows = list(qs[: limit + 1])
        else:
            _statement_put(key, statement)
            rows = statement.compiled.run()
    else:
        rows, order, direction = statement.compiled.run(), statement.order, statement.direction
    more = len(rows) > limit
    rows = rows[:limit]
    if direction == "p":
        rows.reverse()
    next_cursor = previous_cursor = None
    if rows:
        keys = [t.lstrip("-") for t in order]
        last = ["n", *[_field_value(rows[-1], k) for k in keys]]
        first = ["p", *[_field_value(rows[0], k) for k in keys]]
        if (direction == "n" and more) or direction == "p":
            next_cursor = _encode(last)
        if cursor and (direction == "n" or more):
            previous_cursor = _encode(first)
    return Page(records=rows, next_cursor=next_cursor, previous_cursor=previous_cursor)


def _record_list_query(
    *,
    spec: ModuleSpec,
    actor: Member,
    filters: dict[str, str] | None,
    search: str,
    ordering: str | None,
    cursor: str | None,
    limit: int,
    all_columns: bool,
    columns: Collection[str] | None,
    search_first: bool,
    default_view: bool,
) -> tuple[QuerySet[Any], list[str], str]:
    """record_list's queryset (not yet sliced), its ordering and its direction ("n"ext or "p"revious);
    ValidationError for filters, orderings and cursors it refuses."""
    qs = list_queryset(spec=spec, actor=actor, filters=filters, search=search, default_view=default_view)
    order = ordering_for(spec, ordering, hidden=visibility.hidden_fields(actor=actor, spec=spec))
    direction = "n"
    keyset: Q | None = None
    if cursor:
        direction, values = _decode(cursor)
        if len(values) != len(order) or any(v is None or isinstance(v, list | dict) for v in values):
            raise ValidationError({"cursor": [_("Invalid cursor.")]})
        try:
            fields: list[Any] = [spec.model._meta.get_field(t.lstrip("-")) for t in order]
            typed = [f.to_python(v) for f, v in zip(fields, values, strict=True)]
        except (ValidationError, TypeError, ValueError) as exc:
            raise ValidationError({"cursor": [_("Invalid cursor.")]}) from exc
        keyset = _keyset_q(order, typed, direction)
        qs = qs.filter(keyset)
    terms = [(t[1:] if t.startswith("-") else f"-{t}") for t in order] if direction == "p" else list(order)
    if search_first and search:
        # Ids first: the matches' keys sorted, then only the page's rows read with their columns and joins.
        # Sorting all matches with every shown column and joined owner (~2,500 for a common surname among
        # 1M contacts) cost about a third of the statement.
        unindexed = [_unindexed(t) for t in terms]
        page_ids: Any = None
        visible = visibility.visible_q(actor=actor, spec=spec)
        if visible is not None:
            matches = list_queryset(
                spec=spec, actor=actor, filters=filters, search=search, default_view=default_view, visible=False
            )
            page_ids = _sorted_then_visible(spec, matches if keyset is None else matches.filter(keyset), visible, terms)
        if page_ids is None:
            page_ids = qs.order_by(*unindexed).values("pk")[: limit + 1]
        else:
            page_ids = RawSQL(f"{page_ids[0]} LIMIT {int(limit) + 1}", page_ids[1])  # noqa: S611 - compiled above
        qs = spec.records().filter(pk__in=page_ids).order_by(*unindexed)
    else:
        qs = qs.order_by(*terms)
    if not all_columns:
        qs = _list_columns_only(spec, qs, columns)
    return qs, order, direction


@dataclass(frozen=True)
class _RecordStatement:
    spec: ModuleSpec
    compiled: Compiled
    slot: int  # where the record's id goes among the parameters; -1: nothing to run


@dataclass(frozen=True)
class _RelatedStatement:
    spec: ModuleSpec
    compiled: Compiled
    slot: int  # where the record's id goes among the parameters; -1: nothing to run
    other: ModuleSpec


@dataclass(frozen=True)
class _VisibilityCheck:
    spec: ModuleSpec
    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class _CountStatement:
    spec: ModuleSpec
    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class _ListStatement:
    spec: ModuleSpec
    compiled: Compiled
    order: list[str]
    direction: str


# record_list's statements, compiled once per process for the same member, versions and request (issue 25:
# building and compiling the queryset was about a tenth of a list page's and an API list's time). The key
# names everything the statement depends on: the schema, the module, the member (and whether they are an
# active administrator), the tenant's access and metadata versions (grants, sharing, field rules, custom
# fields) and every argument (filter values are made aware in the default time zone, not the member's);
# entries expire after STATEMENT_SECONDS anyway. Without the versions (Redis unreachable) nothing is kept.
# Only the statement is kept, never its rows: each call runs it again.
STATEMENT_SECONDS = 60.0
STATEMENT_MAX = 512
# A store of their own: an API client paging through many cursors must not push out the shell parts and
# fragments `cache_versions.local_remember` keeps.
_statements = cache_versions.LocalValues(max_entries=STATEMENT_MAX, max_seconds=STATEMENT_SECONDS)


def _statement_key(spec: ModuleSpec, actor: Member, arguments: tuple[Any, ...]) -> str | None:
    access, meta = cache_versions.version("access"), cache_versions.version("metadata")
    if access is None or meta is None:
        return None
    return repr((current_schema(), spec.key, actor.pk, actor.active, actor.is_admin, access, meta, arguments))


def _statement_get(key: str | None, spec: ModuleSpec) -> Any:
    """The statement kept under `key`, if it was made for this very spec (a custom module's changed spec gets
    its own)."""
    found = _statements.get(key) if key is not None else None
    return found if found is not None and found.spec is spec else None


def _statement_put(
    key: str | None,
    statement: _ListStatement | _RecordStatement | _RelatedStatement | _VisibilityCheck | _CountStatement,
) -> None:
    if key is not None:
        _statements.put(key, statement, STATEMENT_SECONDS)


def statements_clear() -> None:
    """Forget the compiled list statements of this process (tests)."""
    _statements.clear()


def _sorted_then_visible(
    spec: ModuleSpec, matches: QuerySet[Any], visible: Q, terms: list[str], actor: Member | None = None
) -> tuple[str, tuple[Any, ...]] | None:
    """(SQL, params) of the visible matches' ids in the order of `terms` (LIMIT left to the caller), the
    visibility checked only after the matches are sorted, or None when the statements' shapes are not the
    expected ones (the caller then filters and sorts in one query).

    A search's matches are found through the search index and sorted (their keys only); then PostgreSQL walks
    them in order and checks each one's visibility (the record's owner, the parent's owner through its
    join) until the page is full. Written as one query, PostgreSQL checks visibility first, for every match:
    for a member's "Schmidt" among 1M contacts (2,505 matches, contacts following organisations) that read
    each match's owner columns (at the row's far end) and looked up 2,505 organisations, 12-15 ms, against
    ~5 ms this way; it has no plan that sorts a table's rows below a join except in parallel plans (issue 25).
    The sorted matches are a subquery with OFFSET 0, which PostgreSQL keeps as it is (its order too).
    With `actor`, the compiled visibility check (`visible` must be that member's) is kept with the list
    statements, under the same key parts (schema, module, member, access and metadata versions)."""
    table = connection.ops.quote_name(spec.model._meta.db_table)
    keys = {f"_k{i}": _unindexed(term) for i, term in enumerate(terms)}
    sorted_qs = matches.annotate(_mid=models.F("pk"), **{k: e.expression for k, e in keys.items()}).order_by(
        *[models.F(k).desc() if e.descending else models.F(k).asc() for k, e in keys.items()]
    )
    check_key = _statement_key(spec, actor, ("visibility-check",)) if actor is not None else None
    try:
        sorted_sql, sorted_params = sorted_qs.values("_mid", *keys).query.sql_with_params()
        kept = _statement_get(check_key, spec)
        if kept is None:
            check = spec.records().filter(visible).order_by().values("pk").query.sql_with_params()
            kept = _VisibilityCheck(spec, *check)
            _statement_put(check_key, kept)
        check_sql, check_params = kept.sql, kept.params
    except EmptyResultSet:  # nothing can match (a member without the module's view right)
        return None
    pk = connection.ops.quote_name(str(spec.model._meta.pk.column))
    # Django's own text for the id column, with or without an alias: what the visibility check starts with.
    select = f"SELECT {table}.{pk}"
    heads = (f'{select} AS "pk" FROM {table}', f"{select} FROM {table}")
    head = next((h for h in heads if check_sql.startswith(h)), None)
    if head is None or not sorted_sql.startswith(f'{select} AS "_mid"'):
        return None
    order = ", ".join(f'"_m"."{k}" {"DESC" if e.descending else "ASC"}' for k, e in keys.items())
    sorted_part = f'({sorted_sql} OFFSET 0) "_m" INNER JOIN {table} ON ("_m"."_mid" = {table}.{pk})'
    sql = f"{select} FROM {sorted_part}{check_sql[len(head) :]} ORDER BY {order}"
    return sql, (*sorted_params, *check_params)


def _unindexed(term: str) -> Any:
    """An ORDER BY term no index matches (COALESCE(x, x) is x, nulls included), same direction."""
    name = term.lstrip("-")
    expression = Coalesce(models.F(name), models.F(name))
    return expression.desc() if term.startswith("-") else expression.asc()


def list_queryset(
    *,
    spec: ModuleSpec,
    actor: Member,
    filters: dict[str, str] | None = None,
    search: str = "",
    default_view: bool = True,
    visible: bool = True,
) -> QuerySet[Any]:
    """The live records of a list: visible to `actor` (`visible=False`: not yet restricted, for a caller
    that checks visibility itself), the module's default view, the filters, the search."""
    qs = _base(spec, actor) if visible else spec.records().filter(deleted_at__isnull=True)
    if default_view and spec.default_list_filter and not filters:
        qs = qs.filter(**spec.default_list_filter)
    if filters:
        qs = apply_filters(spec, qs, filters, hidden=visibility.hidden_fields(actor=actor, spec=spec))
    if search:
        query = search_query(search)
        if query is not None:
            qs = qs.filter(search_vector=query)
    return qs


def _list_columns_only(spec: ModuleSpec, qs: QuerySet[Any], columns: Collection[str] | None = None) -> QuerySet[Any]:
    """Select the displayed columns only, joining referenced rows for their titles (no N+1)."""
    shown = [c for c in (columns or ()) if not c.startswith("custom.")]
    wanted = list(dict.fromkeys([*spec.list_columns, *shown]))
    fk_columns = [c for c in wanted if isinstance(spec.model._meta.get_field(c), models.ForeignKey)]
    only = {"id", "number", "created_at", "updated_at", "custom_data", "version", "owner", "owner_group"}
    only |= {c for c in wanted if c != "owner"} | set(spec.row_flag_fields)
    related_fields: list[str] = ["owner__user__name", "owner__user__email", "owner_group__name"]
    for column in fk_columns:
        if column == "owner":
            continue
        target: Any = spec.model._meta.get_field(column).remote_field.model  # type: ignore[union-attr]
        try:
            names = [*registry.spec_for_model(target).title_fields, "deleted_at"]
        except registry.UnknownModule:
            names = [f.name for f in target._meta.concrete_fields if not f.is_relation]
        related_fields += [f"{column}__{name}" for name in ("id", *names)]
    parent = spec.sharing_parent
    if parent:
        # Whether the member may edit a row can depend on its parent's owner (records that follow their
        # parent's sharing): read them with the row, not once per row (visibility._loaded_parent).
        fk_columns = list(dict.fromkeys([*fk_columns, parent]))
        only.add(parent)
        related_fields += [f"{parent}__id", f"{parent}__owner", f"{parent}__owner_group"]
    related: list[str] = sorted({*fk_columns, "owner__user", "owner_group"} - {"owner"})
    joined: Any = qs.select_related(*related, "owner")  # Any: django-stubs cannot follow only() on abstract models
    return joined.only(*sorted(only), *related_fields)


def record_count(
    *,
    spec: ModuleSpec,
    actor: Member,
    filters: dict[str, str] | None = None,
    search: str = "",
    default_view: bool = True,
    exact: bool = False,
) -> tuple[int, bool]:
    """(count, exact). The planner's estimate first; an exact count (capped at 10,000) only when the
    estimate says counting is cheap, so big tables never pay for counting. `exact`: the member asked for
    the count (the list's "Count exactly"): the capped count, whatever it costs."""

    def matches() -> QuerySet[Any]:
        qs = list_queryset(spec=spec, actor=actor, filters=filters, search=search, default_view=default_view)
        return qs.order_by().values("pk")

    if exact:
        capped = matches()[: EXACT_COUNT_LIMIT + 1].count()
        return min(capped, EXACT_COUNT_LIMIT + 1), capped <= EXACT_COUNT_LIMIT
    # The statement the planner is asked about, kept with the list statements (same key parts: schema, module,
    # member, access and metadata versions, arguments): building and compiling the queryset was ~0.4 ms of
    # every list page whose estimate was already known (issue 25).
    key = _statement_key(
        spec, actor, ("count", tuple(sorted(filters.items())) if filters else (), search, default_view)
    )
    kept = _statement_get(key, spec)
    if kept is None:
        kept = _CountStatement(spec, *matches().query.sql_with_params())
        _statement_put(key, kept)
    estimate, total_cost = _planner_estimate(kept.sql, kept.params)
    if estimate > 5 * EXACT_COUNT_LIMIT:
        return estimate, False
    # The capped count stops after EXACT_COUNT_LIMIT + 1 rows, but a few matching rows spread over a
    # big table (a narrow member's private contacts, a filter without an index) are only found by
    # reading most of it: half a second at 1M contacts for a member who sees 4% (issue 13). The
    # planner's cost of reaching that many rows says so in advance (the same plan, no extra query).
    reach = total_cost * min(1.0, (EXACT_COUNT_LIMIT + 1) / max(estimate, 1))
    if reach > EXACT_COUNT_MAX_COST:
        return estimate, False
    capped = matches()[: EXACT_COUNT_LIMIT + 1].count()
    if capped <= EXACT_COUNT_LIMIT:
        return capped, True
    return max(estimate, EXACT_COUNT_LIMIT + 1), False


def _planner_estimate(sql: str, params: Sequence[Any]) -> tuple[int, float]:
    """(rows, total cost) of the planner's plan for the statement, remembered for ESTIMATE_TTL seconds.

    The key is the statement itself (its conditions carry the member's visibility, filters and search),
    with the tenant's access version; the tenant's schema prefixes every cache key. An estimate only
    steers how a list counts and reads (it is shown as "about N"), so one a minute old is as good: a
    list page's EXPLAIN cost a statement and ~1-3 ms of planning on every view (issue 25)."""

    def plan() -> tuple[int, float]:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            found = cursor.fetchone()[0]
        if isinstance(found, str):
            found = json.loads(found)
        return int(found[0]["Plan"]["Plan Rows"]), float(found[0]["Plan"]["Total Cost"])

    digest = hashlib.sha256(json.dumps([sql, params], default=str).encode()).hexdigest()
    return cache_versions.remembered(f"count-estimate:{digest}", plan, ttl=ESTIMATE_TTL, kind=tuple)


def recycle_bin(*, spec: ModuleSpec, actor: Member, limit: int = 100) -> list[CrmRecord]:
    return list(_base(spec, actor, deleted=True).order_by("-deleted_at")[:limit])


def related_records(
    *, spec: ModuleSpec, actor: Member, record: CrmRecord, related_key: str, limit: int = 20, all_columns: bool = False
) -> tuple[ModuleSpec, QuerySet[Any]]:
    relation = next((r for r in spec.related if r.module == related_key), None)
    if relation is None:
        raise ValidationError({"related": [_("Unknown related list.")]})
    other = registry.get(relation.module)
    qs = _base(other, actor).filter(**{relation.via: record.pk}).order_by(*ordering_for(other, None))
    return other, qs if all_columns else _list_columns_only(other, qs)


def related_page(
    *, spec: ModuleSpec, actor: Member, record: CrmRecord, related_key: str, limit: int = 10
) -> tuple[ModuleSpec, list[Any]]:
    """The first `limit` rows of a record page's related list (`related_records`, list columns only), each with
    `_total`, the number of rows the member sees in that list, read in the same statement. Compiled once per
    process as access_record's statement (`_statement_key`, a stand-in id replaced by the record's)."""
    key = _statement_key(spec, actor, ("related", related_key, limit))
    statement = _statement_get(key, spec)
    if statement is None:
        stand_in = spec.model(pk=RECORD_ID_STAND_IN)  # type: ignore[misc]  # a concrete module model
        other, qs = related_records(spec=spec, actor=actor, record=stand_in, related_key=related_key)
        compiled = Compiled(qs.annotate(_total=Window(Count("pk")))[:limit])
        slots = [i for i, p in enumerate(compiled.params) if isinstance(p, uuid.UUID) and p == RECORD_ID_STAND_IN]
        if compiled.sql and len(slots) != 1:  # an unexpected shape: the queryset, as it is
            other, qs = related_records(spec=spec, actor=actor, record=record, related_key=related_key)
            return other, list(qs.annotate(_total=Window(Count("pk")))[:limit])
        statement = _RelatedStatement(spec, compiled, slots[0] if slots else -1, other)
        _statement_put(key, statement)
    if statement.slot < 0:  # the member sees nothing of the related module
        return statement.other, []
    params = list(statement.compiled.params)
    params[statement.slot] = record.pk
    return statement.other, statement.compiled.run(params)


def timeline(*, spec: ModuleSpec, record: CrmRecord, limit: int = 50) -> list[TimelineEntry]:
    """The record page's timeline: its latest entries, with the name of whoever made each (a statement
    compiled once per process and page size: `saas.prepared.Prepared`)."""
    prepared = _timelines.get(limit)
    if prepared is None:

        def build(module: str, record_id: Any) -> QuerySet[TimelineEntry]:
            return (
                TimelineEntry.objects.filter(module=module, record_id=record_id)
                .select_related("actor__user")
                .only("module", "record_id", "kind", "app", "created_at", "data", "actor__user__name")
                .order_by("-created_at", "-id")[:limit]
            )

        prepared = Prepared(build, {"module": "-timeline-sample-", "record_id": RECORD_ID_STAND_IN})
        if len(_timelines) < 8:  # page sizes are the code's, not the request's; bounded anyway
            _timelines[limit] = prepared
    return prepared.list(module=spec.key, record_id=record.pk)


_timelines: dict[int, Prepared[TimelineEntry]] = {}


def comments(*, spec: ModuleSpec, record: CrmRecord) -> list[Comment]:
    return list(
        Comment.objects.filter(module=spec.key, record_id=record.pk)
        .select_related("author__user")
        .prefetch_related(Prefetch("mentions", queryset=Member.objects.select_related("user")))
        .order_by("created_at")
    )


def is_following(*, spec: ModuleSpec, actor: Member, record: CrmRecord) -> bool:
    return Follow.objects.filter(member=actor, module=spec.key, record_id=record.pk).exists()


def recent_view_touch(*, spec: ModuleSpec, actor: Member, record: CrmRecord) -> None:
    """Remember that the member opened the record. Off the request path: one Redis round trip, written to
    the database in batches by `engine.recent_views_flush_task` (crm_apps/engine/recent_views.py, ADR 0047);
    straight to the database when Redis is down."""
    from crm_apps.engine import recent_views

    recent_views.recent_view_touch(module=spec.key, record_id=record.pk, member=actor)


def records_by_refs(*, actor: Member, refs: list[tuple[str, Any]]) -> list[tuple[ModuleSpec, CrmRecord]]:
    """Resolve (module, id) pairs to visible live records, keeping the order; missing ones are skipped."""
    by_module: dict[str, list[Any]] = {}
    for module, pk in refs:
        by_module.setdefault(module, []).append(pk)
    found: dict[tuple[str, str], CrmRecord] = {}
    for module, pks in by_module.items():
        try:
            spec = registry.get(module)
        except registry.UnknownModule:
            continue
        for record in _base(spec, actor).filter(pk__in=pks):
            found[(module, str(record.pk))] = record
    result = []
    for module, pk in refs:
        match = found.get((module, str(pk)))
        if match is not None:
            result.append((registry.get(module), match))
    return result


def home_follows(*, actor: Member, limit: int = 10) -> list[tuple[ModuleSpec, CrmRecord]]:
    refs = list(Follow.objects.filter(member=actor).order_by("-created_at").values_list("module", "record_id")[:limit])
    return records_by_refs(actor=actor, refs=refs)


def home_recent(*, actor: Member, limit: int = 10) -> list[tuple[ModuleSpec, CrmRecord]]:
    """The member's latest viewed records: the stored views merged with those still waiting in Redis."""
    from crm_apps.engine import recent_views

    stored = list(
        RecentView.objects.filter(member=actor)
        .order_by("-viewed_at")
        .values_list("module", "record_id", "viewed_at")[:limit]
    )
    latest: dict[tuple[str, str], Any] = {}
    for module, pk, at in [*stored, *recent_views.pending_views(member=actor)]:
        key = (module, str(pk))
        if key not in latest or at > latest[key]:
            latest[key] = at
    refs = sorted(latest, key=lambda key: latest[key], reverse=True)[:limit]
    return records_by_refs(actor=actor, refs=refs)


def home_mentions(*, actor: Member, limit: int = 10) -> list[Comment]:
    """Comments mentioning `actor`, on records they can still see (not deleted)."""
    mentioning = Comment.objects.filter(mentions=actor)
    visible = links.links_visible(actor=actor, model=Comment, queryset=mentioning)
    return list(visible.select_related("author__user").order_by("-created_at", "-id")[:limit])


# ---------------------------------------------------------------------------------------------
# Search and duplicates


@dataclass
class SearchGroup:
    spec: ModuleSpec
    records: list[Any]


def global_search(*, actor: Member, text: str, per_module: int = 5) -> list[SearchGroup]:
    """Search every module at once: full-text prefix match, then trigram similarity for typos.

    One statement first tells which modules have any live record matching at all (`_search_candidates`,
    whoever may see it); only those are searched under the member's visibility. Issue 25: a search read
    two statements per module (48 for a member), most of them for modules without a single match, and
    compiling them cost more than PostgreSQL running them."""
    text = (text or "").replace("\x00", "").strip()[:200]
    if len(text) < 2:
        return []
    query = search_query(text)
    fuzzy_ok = len(text) >= 3
    specs = registry.all_specs()
    candidates = _search_candidates(specs, text, fuzzy=fuzzy_ok)
    groups = []
    for spec in specs:
        kind = candidates.get(spec.key)
        if kind is None:
            continue
        # `_base` spelled out: the visibility condition is needed on its own below.
        live = spec.records().filter(deleted_at__isnull=True)
        visible = visibility.visible_q(actor=actor, spec=spec)
        qs = live if visible is None else live.filter(visible)
        found: list[CrmRecord] = []
        if query is not None and kind == "match":
            # Numbers are stored upper-case: an exact match uses the unique index (no UPPER() scan).
            matched = Q(search_vector=query) | Q(number=text.upper())
            ids = None
            if visible is not None:
                # As a member's list search: the matches sorted first, visibility checked after, in order, until
                # `per_module` are found (a member's "Müller" among 1M contacts: 15 ms of execution the other way).
                ids = _sorted_then_visible(spec, live.filter(matched), visible, ["-updated_at", "-id"], actor)
            if ids is not None:
                page = RawSQL(f"{ids[0]} LIMIT {int(per_module)}", ids[1])  # noqa: S611 - compiled by Django
                found = list(spec.records().filter(pk__in=page).order_by("-updated_at", "-id"))
            else:
                found = list(qs.filter(matched).order_by("-updated_at", "-id")[:per_module])
        similar_fields = trigram_fields(spec)
        if len(found) < per_module and fuzzy_ok and similar_fields:
            # `%` (trigram_similar) can use the gin_trgm_ops indexes; scoring only orders the few matches.
            condition = Q()
            for name in similar_fields:
                condition |= Q(**{f"{name}__trigram_similar": text})
            scores = [TrigramSimilarity(name, text) for name in similar_fields]
            score = Greatest(*scores) if len(scores) > 1 else scores[0]
            fuzzy = (
                qs.filter(condition)
                .exclude(pk__in=[r.pk for r in found])
                .annotate(_score=score)
                .order_by("-_score")[: per_module - len(found)]
            )
            found += list(fuzzy)
        if found:
            groups.append(SearchGroup(spec=spec, records=found))
    return groups


def _search_candidates(specs: list[ModuleSpec], text: str, *, fuzzy: bool) -> dict[str, str]:
    """Per module with any live record that the search can find, whoever may see it: "match" (a full-text or
    number match; the similar ones are looked for too when the member sees fewer than a page of them) or
    "similar" (only a trigram match). One statement of EXISTS probes on the search indexes (built from the
    models' tables, no ORM compilation); a module missing here has no match for anyone, so skipping it changes
    no result. A custom module's probe reads its shared table: a superset, never a miss."""
    quote = connection.ops.quote_name
    terms = search_terms(text)

    def column(meta: Any, name: str) -> str:
        return quote(str(meta.get_field(name).column))

    parts: list[str] = []
    params: list[Any] = []
    for spec in specs:
        meta = spec.model._meta
        table = quote(str(meta.db_table))
        live = f"{column(meta, 'deleted_at')} IS NULL"
        branches: list[str] = []
        own: list[Any] = []
        if terms is not None:
            vector, number = column(meta, "search_vector"), column(meta, "number")
            branches.append(
                f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {live} AND ({vector} @@ to_tsquery(%s::regconfig, %s)"  # noqa: S608 - quoted names of our tables
                f" OR {number} = %s)) THEN 'match'"
            )
            own += [SEARCH_CONFIG, terms, text.upper()]
        similar = trigram_fields(spec) if fuzzy else []
        if similar:
            condition = " OR ".join(f"{column(meta, n)} %% %s" for n in similar)
            branches.append(f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {live} AND ({condition})) THEN 'similar'")  # noqa: S608 - as above
            own += [text] * len(similar)
        if branches:
            # CASE evaluates its branches in order: the (slower) trigram probe runs only without a full-text match.
            parts.append(f"SELECT %s, CASE {' '.join(branches)} END")
            params += [spec.key, *own]
    if not parts:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(f"{SEARCH_PROBE_MARK} {' UNION ALL '.join(parts)}", params)
        return {key: kind for key, kind in cursor.fetchall() if kind is not None}


def trigram_fields(spec: ModuleSpec) -> list[str]:
    """Title fields of the module that carry a gin_trgm_ops index (typo-tolerant search on them is cheap)."""
    from django.contrib.postgres.indexes import GinIndex

    indexed = {
        name
        for index in spec.model._meta.indexes
        if isinstance(index, GinIndex) and "gin_trgm_ops" in (index.opclasses or ())
        for name in index.fields
    }
    return [name for name in spec.title_fields if name in indexed]


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def duplicates_find(
    *, spec: ModuleSpec, actor: Member, data: dict[str, Any], exclude_id: Any = None, limit: int = 5
) -> list[Any]:
    """Live visible records that look like the same person/company, by the module's duplicate rules."""
    conditions = Q()
    for rule in spec.duplicate_rules:
        values = {name: data.get(name) for name in rule}
        if any(v in (None, "") for v in values.values()):
            continue
        clause = Q()
        for name, value in values.items():
            field = spec.model._meta.get_field(name)
            if isinstance(field, models.ForeignKey):
                clause &= Q(**{field.attname: getattr(value, "pk", value)})
            elif name in ("phone", "mobile"):
                digits = _digits(str(value))
                if len(digits) < 6:
                    clause = Q(pk__in=[])
                    break
                clause &= Q(**{f"{name}__regex": r"\D*".join(digits[-9:]) + r"\D*$"})
            else:
                clause &= Q(**{f"{name}__iexact": str(value).strip()})
        conditions |= clause
    if not conditions:
        return []
    qs = _base(spec, actor).filter(conditions)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("-created_at")[:limit])


def kanban_columns(
    *, spec: ModuleSpec, actor: Member, queryset: QuerySet[Any] | None = None, field_name: str | None = None
) -> dict[Any, dict[str, Any]]:
    """Per value of the board's field: count, sum of `amount` (also per currency when the model has a
    `currency` column: `by_currency`) and weighted sum (`weighted_by_currency`), over visible records only.
    One query."""
    name = field_name or spec.kanban_field
    if name is None:
        return {}
    qs = queryset if queryset is not None else _base(spec, actor)
    field = spec.model._meta.get_field(name)
    key = field.attname if isinstance(field, models.ForeignKey) else name
    names = {f.name for f in spec.model._meta.get_fields()}
    # Sums of a field the member's profiles hide would reveal it: then only counts.
    has_amount = "amount" in names and "amount" not in visibility.hidden_fields(actor=actor, spec=spec)
    aggregates: dict[str, Any] = {"count": models.Count("pk")}
    if has_amount:
        aggregates["total"] = models.Sum("amount")
    if has_amount and "probability" in names:
        aggregates["weighted"] = models.Sum(models.F("amount") * models.F("probability") / Decimal(100))
    group = [key, "currency"] if has_amount and "currency" in names else [key]
    out: dict[Any, dict[str, Any]] = {}
    for row in qs.order_by().values(*group).annotate(**aggregates):
        column = out.setdefault(row[key], {"count": 0, "by_currency": {}})
        column["count"] += row["count"]
        if has_amount:
            amount = row["total"] or Decimal(0)
            column["total"] = column.get("total", Decimal(0)) + amount
            code = row.get("currency") or ""
            column["by_currency"][code] = column["by_currency"].get(code, Decimal(0)) + amount
        if "weighted" in aggregates:
            weighted = row["weighted"] or Decimal(0)
            column["weighted"] = column.get("weighted", Decimal(0)) + weighted
            # Per currency too: the board converts it like the total (never EUR + USD added as they are).
            by_code = column.setdefault("weighted_by_currency", {})
            code = row.get("currency") or ""
            by_code[code] = by_code.get(code, Decimal(0)) + weighted
    return out


def json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | uuid.UUID | Decimal):
        return str(value)
    raise TypeError


# ---------------------------------------------------------------------------------------------
# Saved views


def saved_views(*, spec: ModuleSpec, actor: Member) -> list[SavedView]:
    """The member's own named views of the module and the shared ones (default layouts left out)."""
    qs = SavedView.objects.filter(module=spec.key, is_default=False).filter(Q(owner=actor) | Q(shared=True))
    return list(qs.order_by("name", "pk"))


@dataclass
class ListViews:
    """What a list page needs of the saved views, read in one statement (saved_views_for_list)."""

    named: list[SavedView]  # as saved_views()
    default: SavedView | None  # as saved_view_default()
    usable: dict[int, SavedView]  # by id, what saved_view_get() may return

    def get(self, view_id: Any) -> SavedView | None:
        """saved_view_get() without a query: None for missing and forbidden alike."""
        if not str(view_id).isdigit() or len(str(view_id)) > 12:
            return None
        return self.usable.get(int(view_id))


def saved_views_for_list(*, spec: ModuleSpec, actor: Member) -> ListViews:
    """saved_views(), saved_view_default() and saved_view_get() of one module and member from one query
    (a list page asked three times), kept under the tenant's `views` version (bumped when any saved view
    is written or deleted): a repeated list view reads no saved view. Shared: never modify the views."""

    def load() -> ListViews:
        usable = SavedView.objects.filter(module=spec.key).filter(Q(owner=actor) | Q(shared=True))
        rows = list(usable.order_by("name", "pk"))
        own_defaults = sorted((v for v in rows if v.is_default and v.owner_id == actor.pk), key=lambda v: v.pk)
        return ListViews(
            named=[v for v in rows if not v.is_default],
            default=own_defaults[0] if own_defaults else None,
            usable={v.pk: v for v in rows},
        )

    return cache_versions.remembered(
        f"saved-views:{spec.key}:{actor.pk}", load, ttl=SAVED_VIEWS_TTL, family="views", kind=ListViews
    )


def saved_views_changed(**_kwargs: Any) -> None:
    """A saved view was written or deleted: every process reads the tenant's views again. Bumped at once (this
    transaction's own later reads see the change) and again on commit (a read by another request in between
    may have kept the state before the commit under the first bump)."""
    schema = current_schema()
    cache_versions.version_bump("views")
    transaction.on_commit(lambda: cache_versions.version_bump("views", schema=schema))


def saved_view_get(*, spec: ModuleSpec, actor: Member, view_id: Any) -> SavedView | None:
    """A view the member may use (their own or a shared one); None for missing and forbidden alike."""
    if not str(view_id).isdigit() or len(str(view_id)) > 12:
        return None
    qs = SavedView.objects.filter(pk=int(view_id), module=spec.key).filter(Q(owner=actor) | Q(shared=True))
    return qs.first()


def saved_view_default(*, spec: ModuleSpec, actor: Member) -> SavedView | None:
    """The member's own layout of the module's list, when they have saved one."""
    return SavedView.objects.filter(module=spec.key, owner=actor, is_default=True).first()
