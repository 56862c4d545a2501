"""Record events (`<module>.created/updated/deleted`) announced by the engine's write services.

Listeners (the marketplace's outgoing webhooks) are registered at start-up and are called inside the
service's transaction with the record ids; they must defer any work to `transaction.on_commit`, so an
event is never seen for a write that was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Listener = Callable[[str, str, list[str]], None]
_listeners: list[Listener] = []

CREATED = "created"
UPDATED = "updated"
DELETED = "deleted"


def listener_add(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def record_event(*, module: str, event: str, record_ids: Iterable[Any]) -> None:
    """Tell every listener that these records of `module` were created, updated or deleted."""
    ids = [str(i) for i in record_ids]
    if not ids:
        return
    for listener in _listeners:
        listener(module, event, ids)
