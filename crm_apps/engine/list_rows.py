"""The table rows of a module's list page: HTML built in Python, and kept in the worker keyed by everything a
row is drawn from (issue 25).

Building a row (formatting ~6 values, their links, escaping) was about a fifth of a list page's Python, and
the same rows are shown again and again (a list's first page, a search being refined, paging back). A row's
HTML is a function of:

- the record as it was read: every loaded column of the row and of the rows joined to it (owner, owner's
  user, group, referenced records with their titles and recycle-bin state) - `signature`, the values
  themselves, so a changed record, a renamed organisation or owner, a record moved to the recycle bin
  makes a different key and is drawn afresh; nothing has to remember to invalidate anything;
- the page: tenant schema, module, columns in their order, language, time zone, the member's date and
  number formats, the tenant's metadata version (custom fields, picklist labels and colours, labels,
  telephony settings and installed apps, all of which bump it), the URL prefix - `page_key`;
- what the member may do with the row: the fields editable in place (empty when the member may not edit
  the record), and the row's flags (worked out on every request: they may depend on the date).

A row read from the cache is the same text a fresh build gives; a record that cannot be described by plain
values (an unexpected attribute type) is simply built every time. Entries live in the worker process only
(`saas.cache_versions.LocalValues`: least recently used dropped first, ROWS_KEPT at most, none older than
ROWS_SECONDS), keyed by schema, so a tenant never gets another's row.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Collection, Sequence
from decimal import Decimal
from functools import cached_property
from html import escape as html_escape
from typing import Any

from django.db.models import Model
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from crm_apps.access.formats import formats_active
from crm_apps.engine.display import Shown
from crm_apps.engine.spec import ModuleSpec, RowFlag
from saas import cache_versions
from saas.cache_versions import LocalValues
from tenants.runtime import current_schema

ROWS_KEPT = 2_000  # per worker process; ~3.6 KiB each (HTML and key, a contacts row): ~7 MiB at most
ROWS_SECONDS = 600.0

_kept = LocalValues(max_entries=ROWS_KEPT, max_seconds=ROWS_SECONDS)

_HTML_SPECIAL = re.compile("[&<>\"']").search


def escape(value: Any) -> str:
    """`conditional_escape`, the same output without its lazy-string wrapper (a list page calls it ~500 times;
    most values have nothing to escape, which one search tells)."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    text = value if type(value) is str else str(value)
    return html_escape(text) if _HTML_SPECIAL(text) else text


# Values compared by what they are (equal values are shown the same way); anything else makes a row uncacheable.
_PLAIN = frozenset({str, int, bool, float, Decimal, dt.datetime, dt.date, dt.time, uuid.UUID, type(None)})
_JSON = frozenset({dict, list})
_PLAIN_OR_JSON = _PLAIN | _JSON


def signature(instance: Model, known: dict[int, Any] | None = None) -> tuple[Any, ...] | None:
    """Every value read for `instance` (its loaded columns) and for the instances joined to it, recursively,
    as a hashable tuple; None when one of them is not a plain value. An instance met again on the way (a
    one-to-one's back reference) is named by its place, not described again. `known`: descriptions of joined
    instances already made, by id() - for rows of one result, which share their joined instances (the same
    owner on many rows); only while those instances are alive and unchanged."""
    return _described(instance, [], known if known is not None else {})


def _described(instance: Model, path: list[int], known: dict[int, Any]) -> tuple[Any, ...] | None:
    if id(instance) in path:
        return ("again", path.index(id(instance)))
    if path and id(instance) in known:
        return known[id(instance)]
    path.append(id(instance))
    fields = instance.__dict__
    names = tuple(fields)
    if names and names[0] == "_state":  # as Django and saas.prepared make instances: the columns' values follow
        values = tuple(fields.values())[1:]
        kinds = set(map(type, values))
        if not kinds <= _PLAIN:
            if not kinds <= _PLAIN_OR_JSON:
                return None
            values = tuple(_json(v) if type(v) in _JSON else v for v in values)
        if uuid.UUID in kinds:
            # As their numbers: a UUID hashes and compares in Python code, an int in C, and a key is hashed
            # and compared on every look-up (a column holds UUIDs or None only, so nothing is confused).
            values = tuple(v.int if type(v) is uuid.UUID else v for v in values)
        parts: list[Any] = [type(instance), names, values]
    else:
        parts = [type(instance)]
        for name, value in fields.items():
            if name == "_state":
                continue
            if type(value) in _PLAIN:
                parts += (name, value)
            elif type(value) in _JSON:
                parts += (name, _json(value))
            else:
                return None
    for name, related in instance._state.fields_cache.items():
        if related is None:
            parts += (name, None)
            continue
        nested = _described(related, path, known)
        if nested is None:
            return None
        parts += (name, nested)
    path.pop()
    described = tuple(parts)
    if path:
        known[id(instance)] = described
    return described


def _json(value: Any) -> str:
    """A JSON column's value (custom fields) as canonical text."""
    if not value:
        return "{}" if type(value) is dict else "[]"
    return json.dumps(value, sort_keys=True, default=str)


def page_key(spec: ModuleSpec, columns: Sequence[str]) -> tuple[Any, ...] | None:
    """What every row of this page is drawn with besides its own values; None without the cache's
    metadata version (no Redis): rows are then built every time."""
    metadata = cache_versions.version("metadata")
    if metadata is None:
        return None
    return (
        current_schema(),
        spec.key,
        tuple(columns),
        get_language(),
        timezone.get_current_timezone_name(),
        formats_active(),
        metadata,
        get_script_prefix(),
    )


class ListRow:
    """One row of a list page: its record, address, the fields the member may edit in place, its flags; the
    cells (column name, `Shown`) are worked out on first use (a row taken from the cache needs none)."""

    def __init__(
        self,
        record: Any,
        url: str,
        editable: Collection[str],
        flags: list[RowFlag],
        cells_of: Callable[[Any], list[tuple[str, Shown]]],
    ) -> None:
        self.record, self.url, self.editable, self.flags = record, url, editable, flags
        self._cells_of = cells_of

    @cached_property
    def cells(self) -> list[tuple[str, Shown]]:
        return self._cells_of(self.record)

    _KEYS = frozenset({"record", "url", "cells", "editable", "flags"})

    def __getitem__(self, key: str) -> Any:
        """`row["record"]` and the rest, as when a row was a dict: module templates and callers reading the
        list's `rows` keep working."""
        if key not in self._KEYS:
            raise KeyError(key)
        return getattr(self, key)


class RowsHtml:
    """The rows of one list page as HTML: each from the worker's cache when a row with the same values was
    drawn on an equal page before, else built (and kept)."""

    def __init__(self, spec: ModuleSpec, columns: Sequence[str]) -> None:
        self.spec = spec
        self.page = page_key(spec, columns)
        # A column's cell opening (its label and name escaped) is the same on every row: made once per page.
        self._openings: dict[tuple[str, str], str] = {}

    @cached_property
    def _fixed(self) -> tuple[str, str, str, str]:
        """(the number column's label, the select box's label pattern, the in-place editor's address with a
        zero id and a placeholder field, that zero id), reversed and translated once per page."""
        esc = escape
        cell_base = esc(reverse("engine:cell", args=[self.spec.key, uuid.UUID(int=0), "__name__"]))
        return esc(_("Number")), _("Select %(n)s"), cell_base, str(uuid.UUID(int=0))

    def html(self, rows: list[ListRow]) -> SafeString:
        out = []
        known: dict[int, Any] = {}  # joined instances described, shared by the rows (see `signature`)
        for row in rows:
            key = self._key(row, known)
            found = _kept.get(key) if key is not None else None
            if found is None:
                found = self._build(row)
                if key is not None:
                    _kept.put(key, found, ROWS_SECONDS)
            out.append(found)
        return mark_safe("\n".join(out))  # noqa: S308 - every value went through `escape` in _build

    def _key(self, row: ListRow, known: dict[int, Any]) -> tuple[Any, ...] | None:
        if self.page is None:
            return None
        values = signature(row.record, known)
        if values is None:
            return None
        flags = tuple((f.key, f.tone, str(f.label)) for f in row.flags)
        return (self.page, values, row.url, tuple(sorted(row.editable)), flags)

    def _build(self, row: ListRow) -> str:
        """A row's HTML; everything shown is escaped. Cells the member may edit in place carry the editor's
        address (`data-edit`); rows are focusable for j/k."""
        esc = escape
        number_label, select_text, cell_base, zero_id = self._fixed
        record, url = row.record, esc(row.url)
        select = esc(select_text % {"n": record.number})
        edit_base = cell_base.replace(zero_id, esc(record.pk))
        cells = []
        for index, (name, cell) in enumerate(row.cells):
            if index == 0:
                inner = f'<a href="{url}">{esc(cell.text or "—")}</a>'
            elif cell.url:
                inner = f'<a href="{esc(cell.url)}">{esc(cell.text)}</a>'
            elif cell.color and cell.text:  # a coloured picklist value (validated as #rrggbb by the Displayer)
                inner = f'<span class="badge badge--tone" style="--tone: {esc(cell.color)}">{esc(cell.text)}</span>'
            else:
                inner = esc(cell.text)
            edit = ""
            if name in row.editable:
                link = "?link=1" if index == 0 else ""
                edit = f' data-edit="{edit_base.replace("__name__", esc(name))}{link}" tabindex="-1"'
            opening = self._openings.get((name, cell.label))
            if opening is None:
                opening = self._openings[(name, cell.label)] = (
                    f'<td data-label="{esc(cell.label)}" data-col="{esc(name)}"'
                )
            cells.append(f"{opening}{edit}>{inner}</td>")
        flags = row.flags
        flagged = f' data-flags="{esc(" ".join(f.key for f in flags))}"' if flags else ""
        badges = "".join(
            f' <span class="badge badge--{esc(f.tone)}" data-flag="{esc(f.key)}">{esc(str(f.label))}</span>'
            for f in flags
        )
        return (
            f'<tr data-row data-url="{url}" tabindex="-1"{flagged}>'
            f'<td><input type="checkbox" name="ids" value="{esc(record.pk)}" aria-label="{select}"></td>'
            f'<td data-label="{number_label}"><a href="{url}">{esc(record.number)}</a>{badges}</td>'
            f"{''.join(cells)}</tr>"
        )


def rows_forget() -> None:
    """Drop every kept row of this process (tests)."""
    _kept.clear()
