"""Hooks for in-app notifications (the notification centre hooks in here when it lands).

`missed_call_listener_add(fn)`: `fn(member_id, call_id)` runs after the commit of every inbound call that
becomes "Missed" for a member (once per call, whether the provider or a person recorded it), inside the
tenant's schema. Listeners must not raise; a failing listener is logged and the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)
MissedCallListener = Callable[[int, Any], None]
_listeners: list[MissedCallListener] = []


def missed_call_listener_add(listener: MissedCallListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def missed_call_listener_remove(listener: MissedCallListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def missed_call_announce(*, member_id: int | None, call_id: Any) -> None:
    """After commit: tell every listener that this member missed this call."""
    if member_id is None or not _listeners:
        return

    def run() -> None:
        for listener in list(_listeners):
            try:
                listener(member_id, call_id)
            except Exception:
                logger.exception("missed-call listener failed")

    transaction.on_commit(run)
