"""The collection backend interface: what a module gives the DAV layer so its records sync.

A backend is one collection that every member has (their view of it): the contacts address book, the
events calendar, the tasks list. The DAV layer (views.py) does the protocol - discovery, PROPFIND,
REPORTs, ETag preconditions, sync tokens - and calls only these methods, each of which reads through the
visibility filter and writes through the module's services, so a client gets exactly the rights, checks,
audit and timeline of the UI and API.

Register one at start-up from the module's (or this app's) `AppConfig.ready()`:

    from crm_apps.dav.collections import collection_register
    collection_register(EventsBackend())
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from crm_apps.access.models import Member

ADDRESSBOOK = "addressbook"
CALENDAR = "calendar"


class PreconditionFailed(Exception):
    """If-Match / If-None-Match did not hold (the resource changed or exists): HTTP 412."""


class UnsupportedData(Exception):
    """The body is not a vCard / iCalendar object this collection takes: HTTP 415 or 400 with the reason."""


@dataclass(frozen=True)
class Stored:
    """One resource as a client sees it."""

    name: str
    etag: str  # quoted, as in the ETag header: '"3"'
    body: str


@dataclass(frozen=True)
class Written:
    name: str
    etag: str
    created: bool


class CollectionBackend(Protocol):
    # URL segment under the home (`/dav/addressbooks/<key>/`, `/dav/calendars/<key>/`), stable forever.
    key: str
    kind: str  # ADDRESSBOOK or CALENDAR
    # Calendars only: the components this collection holds ("VEVENT",) / ("VTODO",).
    components: tuple[str, ...]
    extension: str  # ".vcf" / ".ics"
    content_type: str

    def display_name(self) -> str:
        """The collection's name as clients show it (translated)."""
        ...

    def available(self, *, actor: Member) -> bool:
        """Whether the member may see the module at all (otherwise the collection is not listed)."""
        ...

    def can_write(self, *, actor: Member) -> bool:
        """Whether the member may create records here (clients show read-only collections as such)."""
        ...

    def etags(self, *, actor: Member) -> dict[str, str]:
        """{name: etag} of every resource the member can see, in one bounded query."""
        ...

    def get_many(self, *, actor: Member, names: list[str]) -> dict[str, Stored]:
        """The visible resources among `names` (missing and forbidden are simply absent), in one query."""
        ...

    def put(self, *, actor: Member, name: str, body: str, if_match: str | None, if_none_match: bool) -> Written:
        """Create or replace `name` through the module's services. `if_match`: the etag the client last saw
        (PreconditionFailed when it changed or the resource is gone); `if_none_match`: create only
        (PreconditionFailed when it exists). Raises ValidationError (400), PermissionDenied (403),
        UnsupportedData (415)."""
        ...

    def delete(self, *, actor: Member, name: str, if_match: str | None) -> bool:
        """Delete through the module's services (the recycle bin); False when not found or not visible."""
        ...

    def query(self, *, actor: Member, component: str, start: datetime | None, end: datetime | None) -> list[str] | None:
        """Calendars: names of the visible resources of `component` overlapping [start, end) (either may be
        None). None: not supported, the DAV layer then filters every resource itself."""
        ...


_collections: dict[tuple[str, str], CollectionBackend] = {}


def collection_register(backend: CollectionBackend) -> None:
    """Add a collection (idempotent per kind and key: the last registration wins)."""
    _collections[(backend.kind, backend.key)] = backend


def collection_unregister(*, kind: str, key: str) -> None:
    _collections.pop((kind, key), None)


def collections_of(kind: str) -> list[CollectionBackend]:
    return [b for (k, _key), b in _collections.items() if k == kind]


def collection_get(kind: str, key: str) -> CollectionBackend | None:
    return _collections.get((kind, key))
