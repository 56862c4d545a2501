"""Querysets compiled once per process, run on every request with new values (issue 25).

Compiling a queryset to SQL costs more than running it for the small lookups every request makes (the
signed-in member, an API token: about a millisecond of Python for three joined models, a few hundred
microseconds for PostgreSQL). `Prepared` compiles its queryset the first time it is used, with sample
values standing in for the parameters, and afterwards only swaps the values into the parameter list,
executes the statement and builds the model instances the way Django's own iterator does (the compiler
kept from the first time knows the columns, the converters and the related models).

The statement names no schema: django-tenants sets the search path on the connection, so one compiled
statement serves every tenant and reads the current tenant's tables only, as the queryset would.
Only for fixed-shape lookups: the queryset must not depend on anything but the named parameters.

PostgreSQL keeps these statements prepared on each connection (`PreparingCursor`): it parses and plans them
once per connection instead of on every request (planning alone was 1-2 ms of a list or detail page's
statement at the full size, as much as executing it). A statement run with its compiled values goes as
literal SQL without parameters, so its plan always knows the values; one run with new values (a key, an
id) is prepared with parameters, and PostgreSQL may settle on a generic plan for it, which for these
lookups by a unique key or the primary key is the same plan. When the search path changes (another
tenant), or a table's definition or statistics, PostgreSQL parses and plans the statement again before
running it: a prepared statement never reads another schema's tables.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import psycopg
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connections
from django.db.backends.utils import CursorWrapper
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from psycopg.postgres import types as pg_types

M = TypeVar("M", bound=Model)
TIMESTAMPTZ_OID = pg_types["timestamptz"].oid


def _plain_model(model: type[Model], attnames: list[str]) -> bool:
    """Whether instances of `model` with these columns can be made by filling __dict__: nobody listens to its
    init signals, it keeps Django's own __init__ and from_db, and each column's attribute is Django's plain
    descriptor (a value in __dict__ is what reading it returns)."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return False
    if model.__init__ is not Model.__init__ or model.from_db.__func__ is not Model.from_db.__func__:  # type: ignore[attr-defined]
        return False
    plain = (DeferredAttribute, ForeignKeyDeferredAttribute)
    return all(type(inspect.getattr_static(model, name, None)) in plain for name in attnames)


class _PlainPopulator:
    """Django's select_related populator (`RelatedPopulator`) for a plain model (`_plain_model`): the joined
    row's instance made as `Compiled.run` makes the main one, by filling its __dict__ and state."""

    def __init__(self, populator: Any):
        self.db = populator.db
        self.reorder_for_init = populator.reorder_for_init
        self.cols_start = getattr(populator, "cols_start", 0)
        self.cols_end = getattr(populator, "cols_end", 0)
        self.init_list = populator.init_list
        self.model_cls = populator.model_cls
        self.pk_idx = populator.pk_idx
        self.related_populators = [_populator(p) for p in populator.related_populators]
        self.local_setter = populator.local_setter
        self.remote_setter = populator.remote_setter

    def populate(self, row: Sequence[Any], from_obj: Model, shared: dict[Any, Model] | None = None) -> None:
        """Set the joined instance on `from_obj`. With `shared` (one per result set): rows joining the same
        record (the same owner on every row of a page) get one instance, as a prefetch gives them."""
        data = self.reorder_for_init(row) if self.reorder_for_init else row[self.cols_start : self.cols_end]
        obj: Model | None = None
        pk = data[self.pk_idx]
        if pk is not None:
            key = (self, pk)
            obj = shared.get(key) if shared is not None else None
            if obj is None:
                obj = self.model_cls.__new__(self.model_cls)
                state = obj._state = ModelState()
                state.adding, state.db = False, self.db
                obj.__dict__.update(zip(self.init_list, data, strict=True))
                for related in self.related_populators:
                    if type(related) is _PlainPopulator:
                        related.populate(row, obj, shared)
                    else:
                        related.populate(row, obj)
                if shared is not None:
                    shared[key] = obj
        self.local_setter(from_obj, obj)
        if obj is not None:
            self.remote_setter(obj, from_obj)


def _populator(populator: Any) -> Any:
    """`populator`, or the plain one for it when its model allows (its own joined models likewise)."""
    if _plain_model(populator.model_cls, populator.init_list):
        return _PlainPopulator(populator)
    populator.related_populators = [_populator(p) for p in populator.related_populators]
    return populator


class _Logged:
    """What Django's query log reads of a psycopg cursor after a statement (`cursor._query.query`)."""

    __slots__ = ("query",)

    def __init__(self, query: bytes):
        self.query = query


class PreparingCursor(psycopg.Cursor[Any]):
    """A psycopg cursor with server-side binding whose every statement is prepared on the connection (psycopg
    names it and keeps up to `prepared_max` per connection; Django turns automatic preparing off).

    psycopg does not record the text of a prepared execution where Django's query log looks for it; with
    `log_sql` set (only while queries are logged) that text is put there, so tests and the debug toolbar see
    the statement with its values, as for any other cursor."""

    log_sql: bytes | None = None

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        try:
            return super().execute(query, params, prepare=True, binary=binary)
        finally:
            if self.log_sql is not None:
                self._query = _Logged(self.log_sql)  # type: ignore[assignment]


def _plan_changed(exc: BaseException) -> bool:
    return isinstance(exc.__cause__, psycopg.errors.FeatureNotSupported) and "cached plan must not change" in str(exc)


def execute_prepared(cursor: CursorWrapper, sql: str, params: Sequence[Any] | None) -> list[tuple[Any, ...]]:
    """Run `sql` through Django's cursor `cursor` (its query log, execute wrappers and error translation, the
    tenant's search path already set) as a statement prepared on the connection; its rows."""
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    inner = cursor.cursor
    if inner.connection.prepare_threshold is None:  # preparing turned off in the settings' OPTIONS: run it plain
        cursor.execute(sql, params)
        return cursor.fetchall()
    preparing = PreparingCursor(inner.connection)
    db: Any = cursor.db
    own = inner.adapters.get_loader(TIMESTAMPTZ_OID, psycopg.pq.Format.TEXT)
    shared = preparing.adapters.get_loader(TIMESTAMPTZ_OID, psycopg.pq.Format.TEXT)
    if getattr(own, "timezone", None) != getattr(shared, "timezone", None):
        register_tzloader(db.timezone, preparing)  # Django gave its cursor a time zone of its own: the same here
    if db.queries_logged:
        preparing.log_sql = (sql if params is None else db.ops.compose_sql(sql, params)).encode()
    cursor.cursor = preparing
    try:
        try:
            cursor.execute(sql, params)
        except DatabaseError as exc:
            # A column's type changed since the statement was prepared (a migration run by another process):
            # PostgreSQL refuses the prepared statement from then on. Outside a transaction, forget this
            # connection's prepared statements (psycopg clears its own record on DEALLOCATE ALL) and prepare
            # it again; inside one, the transaction's rollback does the same.
            if not _plan_changed(exc) or cursor.db.in_atomic_block:
                raise
            inner.execute("DEALLOCATE ALL")
            cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.cursor = inner
        preparing.close()


class Compiled:
    """A queryset's statement and what turns its rows into model instances, as Django's own iterator does
    (the compiler of the first time knows the columns, the converters and the related models)."""

    def __init__(self, queryset: QuerySet[Any], *, using: str = "default"):
        compiler = queryset.query.get_compiler(using=using)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # a condition that matches nothing (`pk__in=[]`): no statement, no rows
            sql, params = "", ()
        if (
            compiler.has_extra_select
            or getattr(queryset, "_known_related_objects", None)
            or getattr(queryset, "_prefetch_related_lookups", None)
            or queryset._iterable_class is not ModelIterable
        ):
            raise ValueError("compiled query: extra columns, known or prefetched objects are not supported")
        klass_info = compiler.klass_info
        self.sql: str = sql
        self.params: tuple[Any, ...] = tuple(params)
        self.using = using
        self._literal: str | None = None  # the statement with its compiled values in place, made on first run
        self._compiler = compiler
        # What results_iter works out on every call (each column's converters: ~10 % of an API list's Python
        # for 40 columns), once: rows are converted with these, as results_iter would.
        fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
        self._converters = compiler.get_converters(fields)
        if compiler.has_composite_fields(fields):
            raise ValueError("compiled query: composite primary keys are not supported")
        self._model = klass_info["model"]
        self._start, self._end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self._init_list = [column[0].target.attname for column in compiler.select[self._start : self._end]]
        self._annotations = list(compiler.annotation_col_map.items()) if compiler.annotation_col_map else []
        self._plain = _plain_model(self._model, self._init_list)
        self._populators = [
            _populator(p)
            for p in get_related_populators(klass_info, compiler.select, using)  # type: ignore[call-arg]  # stubs: Django 6
        ]

    def run(self, params: Sequence[Any] | None = None) -> list[Any]:
        """The model instances of the statement run with `params` (default: the compiled ones)."""
        if not self.sql:
            return []
        db: Any = connections[self.using]
        with db.cursor() as cursor:
            if params is None:
                if self._literal is None:
                    self._literal = db.ops.compose_sql(self.sql, self.params)
                rows = execute_prepared(cursor, self._literal, None)
            else:
                rows = execute_prepared(cursor, self.sql, params)
        found = []
        model, start, end, init_list, plain, using = (
            self._model,
            self._start,
            self._end,
            self._init_list,
            self._plain,
            self.using,
        )
        converted = self._compiler.apply_converters(rows, self._converters) if self._converters else rows
        shared: dict[Any, Model] = {}
        for row in converted:
            if plain:
                # What Model.from_db + Model.__init__ leave behind for these columns, without the per-field
                # loop of __init__ (a fifth of an API list's Python time: 20 rows x 40 fields): the values
                # in the instance's __dict__ (columns not read stay deferred, as Django leaves them), a
                # ModelState saying the row came from `using`.
                obj = model.__new__(model)
                state = obj._state = ModelState()
                state.adding, state.db = False, using
                obj.__dict__.update(zip(init_list, row[start:end], strict=True))
            else:
                obj = model.from_db(using, init_list, row[start:end])
            for populator in self._populators:
                if type(populator) is _PlainPopulator:
                    populator.populate(row, obj, shared)
                else:
                    populator.populate(row, obj)
            for name, position in self._annotations:  # as Django's iterator sets them
                setattr(obj, name, row[position])
            found.append(obj)
        return found


class Prepared(Generic[M]):
    """`build(**sample)` compiled once; `.list(**values)` runs it with `values` in place of the samples.

    Each sample value must appear exactly once among the compiled statement's parameters (pick values no
    constant of the query uses, e.g. a negative id); `.list` needs exactly the sample's names."""

    def __init__(self, build: Callable[..., QuerySet[M]], sample: Mapping[str, Any], *, using: str = "default"):
        self.build = build
        self.sample = dict(sample)
        self.using = using
        self._compiled: tuple[Compiled, dict[str, int]] | None = None
        self._lock = threading.Lock()

    def _compile(self) -> tuple[Compiled, dict[str, int]]:
        compiled = Compiled(self.build(**self.sample), using=self.using)
        slots: dict[str, int] = {}
        for name, value in self.sample.items():
            found = [i for i, param in enumerate(compiled.params) if type(param) is type(value) and param == value]
            if len(found) != 1:
                raise ValueError(f"prepared query: sample {name}={value!r} appears {len(found)} times, not once")
            slots[name] = found[0]
        return compiled, slots

    def list(self, **values: Any) -> list[M]:
        if values.keys() != self.sample.keys():
            raise TypeError(f"prepared query takes {sorted(self.sample)}, got {sorted(values)}")
        prepared = self._compiled
        if prepared is None:
            with self._lock:
                prepared = self._compiled = self._compiled or self._compile()
        compiled, slots = prepared
        params = list(compiled.params)
        for name, value in values.items():
            params[slots[name]] = value
        return compiled.run(params)

    def first(self, **values: Any) -> M | None:
        found = self.list(**values)
        return found[0] if found else None
