"""Reads of per-tenant module metadata: custom fields, picklists, layout, numbering.

Definitions are read on nearly every request and change rarely, so they are memoised at two levels:
within one request or task (per schema), and within the process per schema and *metadata version*
(saas/cache_versions.py). Every service that writes definitions calls `metadata_changed()`: the
request memo is dropped, this thread reads the database directly until its transaction commits
(nothing computed from uncommitted rows is ever shared), and after commit the version moves on so
that every process reloads. Cached instances are shared between requests: callers must never
modify them (services fetch what they change from the database).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils import translation

from crm_apps.engine.models import CustomField, LayoutOverride, Picklist, PicklistValue
from crm_apps.engine.spec import Block, ModuleSpec
from saas import cache_versions
from saas.value_labels import active_language, label_pick, workspace_language

T = TypeVar("T")
_local = threading.local()
# (schema, metadata version, key) -> loaded value, shared by the threads of the process.
_process: dict[tuple[Any, ...], Any] = {}
PROCESS_MEMO_SIZE = 5000
_MISSING = object()


def metadata_cache_clear(**_kwargs: Any) -> None:
    """Forget memoised metadata: at the start and end of every request and task, and after any write.
    Outside a transaction nothing uncommitted is left, so this thread may share cached entries again."""
    _local.store = None
    if not connection.in_atomic_block:
        _local.dirty = False


def metadata_cache_reset() -> None:
    """Forget everything this thread knows, uncommitted writes included (tests, between two tests)."""
    _local.store = None
    _local.dirty = False


def metadata_changed() -> None:
    """Definitions are being written: read them from the database until commit, then move the
    tenant's metadata version on so that every process reloads them."""
    from tenants.runtime import current_schema

    _local.store = None
    _local.dirty = True
    schema = current_schema()

    def committed() -> None:
        _local.store = None
        _local.dirty = False
        cache_versions.version_bump("metadata", schema=schema)

    transaction.on_commit(committed)


request_started.connect(metadata_cache_clear, dispatch_uid="engine-metadata-cache-start")
request_finished.connect(metadata_cache_clear, dispatch_uid="engine-metadata-cache-end")


def _memo(key: tuple[Any, ...], loader: Callable[[], T]) -> T:
    """Memoise within one request (per schema), so one page or API call reads each definition once."""
    from tenants.runtime import current_schema

    schema = current_schema()
    store: tuple[str, dict[tuple[Any, ...], Any]] | None = getattr(_local, "store", None)
    if store is None or store[0] != schema:
        store = (schema, {})
        _local.store = store
    values = store[1]
    if key not in values:
        values[key] = _shared(schema, key, loader)
    return values[key]


def memoised(key: tuple[Any, ...], loader: Callable[[], T]) -> T:
    """Other per-tenant definitions with the same lifetime (their writers call `metadata_changed()`),
    e.g. which record events installed extensions subscribe to."""
    return _memo(key, loader)


def _shared(schema: str, key: tuple[Any, ...], loader: Callable[[], T]) -> T:
    """The process-wide copy for the tenant's current metadata version (loaded once per version)."""
    if getattr(_local, "dirty", False):
        return loader()  # uncommitted definitions: never share what is read now
    version = cache_versions.version("metadata")
    if version is None:
        return loader()  # the cache is down: without versions nothing can be shared safely
    process_key = (schema, version, key)
    found = _process.get(process_key, _MISSING)
    if found is _MISSING:
        found = loader()
        if len(_process) >= PROCESS_MEMO_SIZE:
            _process.clear()
        _process[process_key] = found
    return found


# Label translations added by installed extensions (marketplace.installs): language -> {label: text}.
LabelSource = Callable[[str], dict[str, str]]
_label_sources: list[LabelSource] = []


def label_source_add(source: LabelSource) -> None:
    if source not in _label_sources:
        _label_sources.append(source)


# Names of objects installed extensions added (pipelines and their stages, saved views), in one
# language: (kind, object id) -> (the name as added, {name as added: translated name}).
NameTable = dict[tuple[str, str], tuple[str, dict[str, str]]]
NameSource = Callable[[str], NameTable]
_name_sources: list[NameSource] = []


def name_source_add(source: NameSource) -> None:
    if source not in _name_sources:
        _name_sources.append(source)


def _label_language() -> str:
    """The language labels are translated into; "" when they are shown as written (the default)."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    return "" if language == settings.LANGUAGE_CODE or not (_label_sources or _name_sources) else language


def name_translations() -> NameTable:
    """Translated names of extension-added objects in the active language (none in the default)."""
    language = _label_language()
    if not language:
        return {}

    def load() -> NameTable:
        merged: NameTable = {}
        for source in _name_sources:
            merged.update(source(language))
        return merged

    return _memo(("name_translations", language), load)


def translated_name(kind: str, pk: Any, name: str) -> str:
    """`name` in the active language when an installed extension added the object and translates it;
    as written otherwise. A name the workspace changed since is shown as the workspace wrote it."""
    table = name_translations()
    if not table:
        return name
    entry = table.get((kind, str(pk)))
    if entry is None or entry[0] != name:
        return name
    return entry[1].get(name, name)


def label_translations() -> dict[str, str]:
    """Translations of tenant-defined labels into the active language (nothing is read in the default
    language). Writers of translations call `metadata_changed()`, so the shared copy follows them."""
    language = _label_language()
    if not language:
        return {}

    def load() -> dict[str, str]:
        merged: dict[str, str] = {}
        for source in _label_sources:
            merged.update(source(language))
        return merged

    return _memo(("label_translations", language), load)


def _values_language() -> tuple[str, str]:
    """What the shown label of a built-in value depends on: the member's and the workspace's language."""
    return (active_language(), workspace_language())


def _translated(items: list[Any], table: dict[str, str]) -> list[Any]:
    """Copies of custom fields / picklist values with translated labels (shared instances untouched):
    a value's own `labels` first (value_labels.label_pick), else an installed extension's translation."""
    result = []
    for item in items:
        own = getattr(item, "labels", None)
        if own:
            shown = label_pick(own, item.label)
            if shown != item.label:
                item = copy.copy(item)
                item.label = shown
            result.append(item)
            continue
        if item.label in table:
            item = copy.copy(item)
            item.label = table[item.label]
        result.append(item)
    return result


def custom_fields(module: str, *, include_archived: bool = False) -> list[CustomField]:
    """The module's custom fields in order (archived ones only when asked); one query per request."""

    def load() -> list[CustomField]:
        rows = list(CustomField.objects.filter(module=module).order_by("position", "id"))
        return _translated(rows, label_translations())

    fields = _memo(("custom_fields", module, _label_language()), load)
    return list(fields) if include_archived else [f for f in fields if f.archived_at is None]


def picklist_values(name: str, *, include_retired: bool = False) -> list[PicklistValue]:
    def load() -> list[PicklistValue]:
        qs = PicklistValue.objects.filter(picklist__name=name)
        if not include_retired:
            qs = qs.filter(retired=False)
        return _translated(list(qs.order_by("position", "id")), label_translations())

    return list(_memo(("picklist_values", name, include_retired, _label_language(), _values_language()), load))


def picklist_map(names: list[str]) -> dict[str, list[PicklistValue]]:
    """All values (retired too) of several picklists: name -> values in order. Every picklist of the
    tenant is read once per request (two queries; they are small), however many modules a page shows."""

    def load() -> dict[str, list[PicklistValue]]:
        lists = Picklist.objects.prefetch_related(
            Prefetch("values", queryset=PicklistValue.objects.order_by("position", "id"))
        )
        table = label_translations()
        return {p.name: _translated(list(p.values.all()), table) for p in lists}

    everything = _memo(("picklist_map", _label_language(), _values_language()), load)
    return {name: list(everything.get(name, [])) for name in names}


def picklist_labels(name: str) -> dict[str, str]:
    return {v.value: v.label for v in picklist_values(name, include_retired=True)}


def _layout_override(spec: ModuleSpec) -> dict[str, Any]:
    override = _memo(("layout", spec.key), lambda: LayoutOverride.objects.filter(module=spec.key).first())
    return override.layout if override is not None else {}


CUSTOM_NAME_PREFIX = "custom."


def layout_blocks(spec: ModuleSpec, *, custom: bool = False) -> tuple[tuple[Block, ...], set[str]]:
    """The module's blocks in the tenant's order (renamed and added blocks, fields moved between
    blocks), and the fields the tenant hid. A field the layout does not place (one a newer version of
    the module added) stays in its own block, or goes to the first block when that one was removed.
    With `custom`, the blocks also hold the custom fields the editor placed ("custom.<key>", active
    fields of this module only: an archived or unknown key is skipped); unplaced ones are left out
    (the form and the record page show them under "More fields")."""
    layout = _layout_override(spec)
    if not layout:
        return spec.blocks, set()
    by_key = {b.key: b for b in spec.blocks}
    posted = layout.get("blocks", [])
    if posted and isinstance(posted[0], dict):
        placed: list[tuple[str, Any, list[str]]] = []
        seen: set[str] = set()
        valid = set(spec.form_fields) | {f for b in spec.blocks for f in b.fields}
        if custom:
            valid |= {CUSTOM_NAME_PREFIX + f.key for f in custom_fields(spec.key)}
        for item in posted:
            names = [f for f in item.get("fields", []) if f in valid and f not in seen]
            seen.update(names)
            title = item.get("title") or (by_key[item["key"]].title if item["key"] in by_key else item["key"])
            placed.append((item["key"], title, names))
        keys = [key for key, _title, _names in placed]
        for block in spec.blocks:
            missing = [f for f in block.fields if f not in seen]
            if not missing:
                continue
            seen.update(missing)
            index = keys.index(block.key) if block.key in keys else 0
            if not placed:
                placed.append((block.key, block.title, []))
                keys.append(block.key)
            placed[index][2].extend(missing)
        return tuple(Block(key, title, tuple(names)) for key, title, names in placed), set(layout.get("hidden", []))
    order = [k for k in posted if k in by_key] + [k for k in by_key if k not in posted]
    blocks = []
    for key in order:
        block = by_key[key]
        wanted = [f for f in layout.get("fields", {}).get(key, []) if f in block.fields]
        fields = tuple(wanted + [f for f in block.fields if f not in wanted])
        blocks.append(Block(block.key, block.title, fields))
    return tuple(blocks), set(layout.get("hidden", []))


def layout_is_editor_shaped(spec: ModuleSpec) -> bool:
    """The layout was saved by the drag-and-drop editor (its own blocks, fields moved between blocks),
    which the plain per-block form cannot show without losing something."""
    blocks = _layout_override(spec).get("blocks") or []
    return bool(blocks) and isinstance(blocks[0], dict)


def layout_custom_placed(spec: ModuleSpec) -> set[str]:
    """Custom fields ("custom.<key>") the layout editor placed in a block."""
    blocks, _hidden = layout_blocks(spec, custom=True)
    return {name for block in blocks for name in block.fields if name.startswith(CUSTOM_NAME_PREFIX)}


def layout_mandatory(spec: ModuleSpec) -> set[str]:
    """Optional fields the tenant made mandatory: the form marks them and the services require them."""
    return set(_layout_override(spec).get("mandatory", []))


def layout_quick_create(spec: ModuleSpec) -> set[str]:
    """Fields the tenant chose for the quick-create form (empty: the required fields only)."""
    return set(_layout_override(spec).get("quick_create", []))
