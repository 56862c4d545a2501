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
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

M = TypeVar("M", bound=Model)


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
        self._compiler = compiler
        self._model = klass_info["model"]
        self._start, self._end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self._init_list = [column[0].target.attname for column in compiler.select[self._start : self._end]]
        self._annotations = list(compiler.annotation_col_map.items()) if compiler.annotation_col_map else []
        self._plain = _plain_model(self._model, self._init_list)
        self._populators = get_related_populators(klass_info, compiler.select, using)  # type: ignore[call-arg]  # stubs: Django 6

    def run(self, params: Sequence[Any] | None = None) -> list[Any]:
        """The model instances of the statement run with `params` (default: the compiled ones)."""
        if not self.sql:
            return []
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, self.params if params is None else params)
            rows = cursor.fetchall()
        found = []
        model, start, end, init_list, plain, using = (
            self._model,
            self._start,
            self._end,
            self._init_list,
            self._plain,
            self.using,
        )
        for row in self._compiler.results_iter(results=[rows]):
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
