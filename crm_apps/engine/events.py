"""Record events (`<module>.created/updated/deleted/restored`, and `leads.converted`) announced by the
engine's write services.

Listeners (the marketplace's outgoing webhooks) are registered at start-up and are called inside the
service's transaction with the record ids; they must defer any work to `transaction.on_commit`, so an
event is never seen for a write that was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_apps.access.models import Member
    from crm_apps.engine.models import CrmRecord
    from crm_apps.engine.spec import ModuleSpec

Listener = Callable[[str, str, list[str]], None]
_listeners: list[Listener] = []
# (spec, record, changes {field: [old, new]}, actor, created) -> None
ChangeListener = Callable[["ModuleSpec", "CrmRecord", dict[str, list[Any]], "Member", bool], None]
_change_listeners: list[ChangeListener] = []

CREATED = "created"
UPDATED = "updated"
DELETED = "deleted"
RESTORED = "restored"  # taken back out of the recycle bin
# Announced by module services for their own named changes (a lead's conversion).
CONVERTED = "converted"


def listener_add(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def record_event(*, module: str, event: str, record_ids: Iterable[Any]) -> None:
    """Tell every listener that these records of `module` were created, updated, deleted or restored."""
    ids = [str(i) for i in record_ids]
    if not ids:
        return
    for listener in _listeners:
        listener(module, event, ids)


def change_listener_add(listener: ChangeListener) -> None:
    if listener not in _change_listeners:
        _change_listeners.append(listener)


def record_changed(
    *, spec: ModuleSpec, record: CrmRecord, changes: dict[str, list[Any]], actor: Member, created: bool
) -> None:
    """Tell every change listener what one create or update changed (`{field: [old, new]}`, the values of
    the timeline; a create lists the fields it filled). Called inside the write's transaction: rows a
    listener writes (notifications) commit or roll back with the change; anything leaving the database
    (emails) must wait for `transaction.on_commit`."""
    for listener in _change_listeners:
        listener(spec, record, changes, actor, created)


# (spec, record, changed field names or None for a delete, actor) -> None; raises ValidationError to refuse.
WriteGuard = Callable[["ModuleSpec", "CrmRecord", "list[str] | None", "Member"], None]
_guards: list[WriteGuard] = []


def write_guard_add(guard: WriteGuard) -> None:
    """A feature app's veto over updates and deletes (a record locked while its approval is pending)."""
    if guard not in _guards:
        _guards.append(guard)


def write_check(*, spec: ModuleSpec, record: CrmRecord, fields: list[str] | None, actor: Member) -> None:
    """Ask every guard before an update (`fields`: the changed ones) or a delete (`fields` None)."""
    for guard in _guards:
        guard(spec, record, fields, actor)
