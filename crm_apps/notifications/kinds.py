"""The kinds of notification and their defaults: an open registry, so a module adds its own kinds.

A kind is data: a key, a label for the preferences page, a title with named placeholders (rendered in
the *reader's* language each time a notification is shown, from the parameters stored with it) and
the channel a member gets until they choose another. Channels: `off` (nothing), `inapp` (the bell and
the list), `email` (the bell and the list, and an email at once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

OFF = "off"
INAPP = "inapp"
EMAIL = "email"
CHANNELS = (OFF, INAPP, EMAIL)
CHANNEL_LABELS = {OFF: _("Off"), INAPP: _("In the app"), EMAIL: _("In the app and by email")}

MENTION = "mention"
ASSIGNMENT = "assignment"
REMINDER = "reminder"
INVITATION = "invitation"
RECORD_CHANGED = "record_changed"


@dataclass(frozen=True)
class Kind:
    key: str
    label: str | Promise
    # "%(actor)s mentioned you on %(record)s": named placeholders filled from the notification's params.
    title: str | Promise
    default: str = INAPP
    description: str | Promise = ""


_kinds: dict[str, Kind] = {}


def kind_register(kind: Kind) -> Kind:
    """Add (or replace, on reload) a kind; its default must be a channel."""
    if kind.default not in CHANNELS:
        raise ValueError(f"notification kind {kind.key}: unknown default channel {kind.default!r}")
    _kinds[kind.key] = kind
    return kind


def kind_get(key: str) -> Kind | None:
    return _kinds.get(key)


def kinds_all() -> list[Kind]:
    """Every registered kind, in registration order (the preferences page's order)."""
    return list(_kinds.values())


@dataclass(frozen=True)
class RowActions:
    """Buttons a notification of one kind shows in the lists (the centre, the home page): `template` is
    included with the dict `context(notifications)` returns for that notification's id as `row_actions`;
    a notification missing from that dict (the thing was answered, deleted...) shows none."""

    template: str
    context: Callable[[Sequence[Any]], dict[int, dict[str, Any]]]


_row_actions: dict[str, RowActions] = {}


def row_actions_register(kind: str, actions: RowActions) -> None:
    """Let a module put its own buttons on the notifications of `kind` (the calendar: answer an invitation)."""
    _row_actions[kind] = actions


def row_actions_get(kind: str) -> RowActions | None:
    return _row_actions.get(kind)


class _Params(dict[str, Any]):
    """Parameters for a title: a placeholder without a value shows as empty, never as an error."""

    def __missing__(self, key: str) -> str:
        return ""


def render_title(*, kind: str, params: Mapping[str, Any]) -> str:
    """The title of a notification in the active language."""
    found = _kinds.get(kind)
    if found is None:
        return str(params.get("record") or _("Notification"))
    return str(found.title) % _Params(params)


kind_register(
    Kind(
        key=MENTION,
        label=_("Mentions"),
        title=_("%(actor)s mentioned you on %(record)s"),
        default=EMAIL,
        description=_("Someone mentions you in a comment (@ and your name)."),
    )
)
kind_register(
    Kind(
        key=ASSIGNMENT,
        label=_("Assignments"),
        title=_("%(actor)s assigned %(record)s to you"),
        default=EMAIL,
        description=_("A record becomes yours because someone else made you its owner."),
    )
)
kind_register(
    Kind(
        key=REMINDER,
        label=_("Reminders"),
        title=_("Reminder: %(record)s"),
        default=EMAIL,
        description=_("Reminders of your events and tasks."),
    )
)
kind_register(
    Kind(
        key=INVITATION,
        label=_("Invitations to events"),
        title=_("%(actor)s invited you to %(record)s"),
        default=EMAIL,
        description=_("Someone adds you to the invitees of an event."),
    )
)
kind_register(
    Kind(
        key=RECORD_CHANGED,
        label=_("Changes on records you follow"),
        title=_("%(actor)s changed %(field)s of %(record)s"),
        default=INAPP,
        description=_("The stage of a deal, the status of a ticket: the main field of a record you follow."),
    )
)
