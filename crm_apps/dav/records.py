"""A collection over one engine module: the shared half of every built-in backend.

Reads go through `visibility.visible_records`, writes through the engine's `record_create`/`record_update`/
`record_delete` (or the module's own write function), so rights, validation, audit and timeline are the
UI's. ETags are the record's `version` (every write bumps it). A subclass says how a record becomes a vCard or
iCalendar object and back (`render`, `parse`, `to_data`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.dav import names as dav_names
from crm_apps.dav.collections import PreconditionFailed, Stored, UnsupportedData, Written
from crm_apps.engine import registry
from crm_apps.engine import services as engine_services
from crm_apps.engine.spec import ModuleSpec

# (actor, record or None, data, expected_version) -> the saved record. The default is the engine's services.
WriteFunction = Callable[[Member, Any, dict[str, Any], int | None], Any]
# (actor, record) -> None: the module's own delete (e.g. one that emails cancellations); default the engine's.
DeleteFunction = Callable[[Member, Any], None]


def etag_of(version: int) -> str:
    return f'"{version}"'


def etag_matches(if_match: str, current: str) -> bool:
    """Whether an If-Match value names the current ETag (weak prefix and quotes ignored)."""

    def bare(value: str) -> str:
        return value.strip().removeprefix("W/").strip('"')

    return bare(if_match) == bare(current)


def engine_write(spec: ModuleSpec) -> WriteFunction:
    def write(actor: Member, record: Any, data: dict[str, Any], expected_version: int | None) -> Any:
        if record is None:
            return engine_services.record_create(spec=spec, actor=actor, data=data)
        return engine_services.record_update(
            spec=spec, actor=actor, record=record, data=data, expected_version=expected_version
        )

    return write


class RecordCollection:
    key: str
    kind: str
    module: str
    components: tuple[str, ...] = ()
    extension: str
    content_type: str
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()
    write: WriteFunction | None = None
    remove: DeleteFunction | None = None

    # What a subclass provides -----------------------------------------------------------------

    def render(self, record: Any, *, uid: str, hidden: set[str]) -> str:
        raise NotImplementedError

    def parse(self, body: str) -> Any:
        """The parsed object, or UnsupportedData with the reason."""
        raise NotImplementedError

    def uid_of(self, parsed: Any) -> str | None:
        raise NotImplementedError

    def to_data(self, parsed: Any, *, actor: Member, hidden: set[str], record: Any) -> dict[str, Any]:
        """Field values the object sets (`record` is None on create); hidden fields left out."""
        raise NotImplementedError

    def default_uid(self, record: Any) -> str:
        """The UID of a record no client created (the record id; a module with its own UIDs says so)."""
        return str(record.pk)

    def current(self, record: Any, name: str) -> Any:
        """A stored value in the form `to_data` gives, so unchanged fields are not written."""
        value = getattr(record, name)
        if hasattr(value, "pk"):
            return str(value.pk)
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    def span_filter(self, queryset: Any, start: Any, end: Any) -> Any | None:
        """Calendars: the queryset narrowed to [start, end); None when not supported in SQL."""
        return None

    def etag_map(self, *, actor: Member, versions: dict[Any, int]) -> dict[Any, str]:
        """{record id: ETag} for records with these versions. The default is the version; a resource made
        of several records (a series with its edited occurrences) folds theirs in, in one query."""
        return {rid: etag_of(version) for rid, version in versions.items()}

    def prepare(self, *, actor: Member, records: list[Any]) -> None:
        """Before rendering `records`: load what their bodies need beyond the record, in bulk (no-op)."""

    # The interface of collections.CollectionBackend ----------------------------------------------

    def spec(self) -> ModuleSpec:
        return registry.get(self.module)

    def display_name(self) -> str:
        return str(self.spec().label_plural)

    def available(self, *, actor: Member) -> bool:
        return visibility.can_view_module(actor=actor, spec=self.spec())

    def can_write(self, *, actor: Member) -> bool:
        return visibility.can_create(actor=actor, spec=self.spec())

    def visible(self, actor: Member) -> Any:
        spec = self.spec()
        qs = spec.records().filter(deleted_at__isnull=True)
        return visibility.visible_records(actor=actor, spec=spec, queryset=qs)

    def etags(self, *, actor: Member) -> dict[str, str]:
        rows = dict(self.visible(actor).order_by().values_list("id", "version"))
        names = dav_names.names_for(collection=self.key, extension=self.extension, record_ids=list(rows))
        etags = self.etag_map(actor=actor, versions=rows)
        return {names[rid]: etags[rid] for rid in rows}

    def get_many(self, *, actor: Member, names: list[str]) -> dict[str, Stored]:
        ids = dav_names.record_ids_for(collection=self.key, extension=self.extension, names=names)
        if not ids:
            return {}
        qs = self.visible(actor).select_related(*self.select_related).prefetch_related(*self.prefetch_related)
        records = {r.pk: r for r in qs.filter(pk__in=ids.values())}
        chosen = dav_names.uids_for(collection=self.key, record_ids=list(records))
        uids = {rid: chosen.get(rid) or self.default_uid(record) for rid, record in records.items()}
        hidden = visibility.hidden_fields(actor=actor, spec=self.spec())
        self.prepare(actor=actor, records=list(records.values()))
        etags = self.etag_map(actor=actor, versions={rid: record.version for rid, record in records.items()})
        found = {}
        for name, rid in ids.items():
            record = records.get(rid)
            if record is not None:
                body = self.render(record, uid=uids[rid], hidden=hidden)
                found[name] = Stored(name=name, etag=etags[rid], body=body)
        return found

    def put(self, *, actor: Member, name: str, body: str, if_match: str | None, if_none_match: bool) -> Written:
        spec = self.spec()
        parsed = self.parse(body)
        write = self.write or engine_write(spec)
        hidden = visibility.hidden_fields(actor=actor, spec=spec)
        with transaction.atomic():
            rid = dav_names.record_ids_for(collection=self.key, extension=self.extension, names=[name]).get(name)
            record = None
            if rid is not None:
                record = self.visible(actor).select_related(*self.select_related).filter(pk=rid).first()
            if record is None:
                # No create over a taken name: 412, as for a stale If-Match, so it looks like a missing one.
                if if_match is not None or self._name_taken(name, rid):
                    raise PreconditionFailed
                created = write(actor, None, self._data(parsed, actor=actor, hidden=hidden, record=None), None)
                uid = self.uid_of(parsed) or name.removesuffix(self.extension)
                dav_names.name_claim(
                    collection=self.key, name=name, extension=self.extension, record_id=created.pk, uid=uid
                )
                return Written(name=name, etag=self._etag_now(actor, created), created=True)
            if if_none_match:
                raise PreconditionFailed
            expected = None
            if if_match is not None:
                if not etag_matches(if_match, self._etag_now(actor, record)):
                    raise PreconditionFailed
                expected = record.version
            data = self._data(parsed, actor=actor, hidden=hidden, record=record)
            changed = {k: v for k, v in data.items() if self.current(record, k) != v}
            try:
                updated = write(actor, record, changed, expected)
            except engine_services.ConflictError as exc:
                raise PreconditionFailed from exc
            return Written(name=name, etag=self._etag_now(actor, updated), created=False)

    def _etag_now(self, actor: Member, record: Any) -> str:
        """The resource's ETag as stored now (the version re-read: services may bump it after the write)."""
        version = self.spec().records().filter(pk=record.pk).values_list("version", flat=True).first()
        return self.etag_map(actor=actor, versions={record.pk: record.version if version is None else version})[
            record.pk
        ]

    def _data(self, parsed: Any, *, actor: Member, hidden: set[str], record: Any) -> dict[str, Any]:
        """`to_data`, with a missing or malformed property (which parsers meet as KeyError, ValueError...)
        turned into UnsupportedData (400 with the reason) instead of a server error."""
        try:
            return self.to_data(parsed, actor=actor, hidden=hidden, record=record)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, OverflowError) as exc:
            raise UnsupportedData(
                _("The object lacks a required property or has a malformed one (%(detail)s).")
                % {"detail": str(exc) or type(exc).__name__}
            ) from exc

    def _name_taken(self, name: str, rid: Any) -> bool:
        """A live record the member cannot see keeps its name, and a record's own `<id>.<ext>` is never
        given to another (it would answer again when restored); a client's name of a deleted record is free."""
        if rid is None:
            return False
        taken = self.spec().records().filter(pk=rid)
        if name != f"{rid}{self.extension}":
            taken = taken.filter(deleted_at__isnull=True)
        return bool(taken.exists())

    def delete(self, *, actor: Member, name: str, if_match: str | None) -> bool:
        with transaction.atomic():
            rid = dav_names.record_ids_for(collection=self.key, extension=self.extension, names=[name]).get(name)
            record = None if rid is None else self.visible(actor).filter(pk=rid).first()
            if record is None:
                return False
            if if_match is not None and not etag_matches(if_match, self._etag_now(actor, record)):
                raise PreconditionFailed
            if self.remove is not None:
                self.remove(actor, record)
            else:
                engine_services.record_delete(spec=self.spec(), actor=actor, record=record)
            return True

    def query(self, *, actor: Member, component: str, start: Any, end: Any) -> list[str] | None:
        if component not in self.components:
            return []
        narrowed = self.span_filter(self.visible(actor), start, end)
        if narrowed is None:
            return None
        ids = list(narrowed.order_by().values_list("id", flat=True))
        return sorted(dav_names.names_for(collection=self.key, extension=self.extension, record_ids=ids).values())
