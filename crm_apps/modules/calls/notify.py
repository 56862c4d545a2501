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


MISSED_CALL = "missed_call"


def missed_call_notify(member_id: int, call_id: Any) -> None:
    """The notification centre's listener: the member who missed a call finds it under the bell (and by
    email if they chose so for "Missed calls"), once per call."""
    from crm_apps.access.models import Member
    from crm_apps.modules.calls.models import Call
    from crm_apps.notifications.services import notification_send

    member = Member.objects.select_related("user").filter(pk=member_id).first()
    call = Call.objects.filter(pk=call_id).first()
    if member is None or call is None:
        return
    notification_send(
        recipient=member,
        kind=MISSED_CALL,
        module="calls",
        record_id=call.pk,
        params={"record": call.from_number or call.number},
        url=f"/m/calls/{call.pk}/",
        dedupe_key=f"missed_call:{call.pk}",
    )


def missed_call_kind_register() -> None:
    """Register the "missed call" kind and its listener (from the app's ready())."""
    from django.utils.translation import gettext_lazy as _

    from crm_apps.notifications.kinds import INAPP, Kind, kind_register

    kind_register(
        Kind(
            key=MISSED_CALL,
            label=_("Missed calls"),
            title=_("Missed call from %(record)s"),
            default=INAPP,
            description=_("An incoming call to your extension that nobody answered."),
        )
    )
    missed_call_listener_add(missed_call_notify)
