"""The home page ("my day") is a list of widgets: the home page's own (notifications, changes on records
I follow, recent records, team, getting started) and the modules' (`ModuleSpec.home_widgets`: deals
closing this month, and later today's events, due tasks, missed calls), ordered by position.

Every widget computes its own context through the selectors (so through the visibility filter) and
renders a useful empty state: a new workspace shows what will appear and the first thing to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.selectors import invitation_pending_list, member_list
from crm_apps.engine import extensions, selectors
from crm_apps.engine.display import record_url
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.spec import HomeWidget
from crm_apps.notifications.selectors import notification_list, unread_count
from crm_apps.notifications.views import rows_for

NOTIFICATIONS_SHOWN = 5
FOLLOWS_SHOWN = 8
RECENT_SHOWN = 8


@dataclass
class ShownWidget:
    key: str
    title: Any
    template: str
    data: dict[str, Any]
    position: int


def notifications_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    """The member's newest notifications and how many are unread."""
    return {
        "rows": rows_for(list(notification_list(member=member)[:NOTIFICATIONS_SHOWN])),
        "unread": unread_count(member=member),
        "list_url": reverse("notifications:list"),
        "preferences_url": reverse("notifications:preferences"),
    }


def _change_summary(entry: TimelineEntry | None, hidden: set[str], labels: dict[str, str]) -> str:
    if entry is None:
        return ""
    if entry.kind == TimelineEntry.Kind.UPDATED:
        names = [labels.get(n, n) for n in (entry.data or {}).get("changes", {}) if n.split(".")[0] not in hidden]
        return ", ".join(names)
    return str(TimelineEntry.Kind(entry.kind).label) if entry.kind in TimelineEntry.Kind.values else ""


def _labels(spec: Any) -> dict[str, str]:
    return {f.name: str(getattr(f, "verbose_name", f.name)).capitalize() for f in spec.model._meta.get_fields()}


def followed_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    """Records the member follows, each with its latest change by someone else (newest changes first)."""
    followed = selectors.home_follows(actor=member, limit=FOLLOWS_SHOWN)
    latest: dict[tuple[str, str], TimelineEntry] = {}
    if followed:
        pairs = Q()
        for spec, record in followed:
            pairs |= Q(module=spec.key, record_id=record.pk)
        entries = (
            TimelineEntry.objects.filter(pairs)
            .exclude(actor=member)
            .exclude(kind=TimelineEntry.Kind.CREATED)
            .select_related("actor__user")
            .order_by("module", "record_id", "-created_at", "-id")
            .distinct("module", "record_id")
        )
        latest = {(e.module, str(e.record_id)): e for e in entries}
    rows = []
    for spec, record in followed:
        entry = latest.get((spec.key, str(record.pk)))
        hidden = visibility.hidden_fields(actor=member, spec=spec)
        rows.append(
            {
                "url": record_url(spec, record),
                "title": str(record),
                "module": spec.label,
                "changed_at": entry.created_at if entry else None,
                "by": (entry.actor.user.name if entry and entry.actor else ""),
                "what": _change_summary(entry, hidden, _labels(spec)) if entry else "",
            }
        )
    rows.sort(key=lambda r: (r["changed_at"] is not None, r["changed_at"] or 0), reverse=True)
    return {"rows": rows}


def recent_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    """Records the member opened lately."""
    return {
        "rows": [
            {"url": record_url(s, r), "title": str(r), "module": s.label}
            for s, r in selectors.home_recent(actor=member, limit=RECENT_SHOWN)
        ]
    }


def team_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    active = member_list().filter(active=True)
    return {
        "members": list(active[:8]),
        "count": active.count(),
        "pending_invitations": invitation_pending_list().count() if member.is_admin else 0,
    }


def getting_started_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    return {}


BUILTIN: tuple[HomeWidget, ...] = (
    HomeWidget(
        key="notifications",
        title=_("Notifications"),
        template="home/widgets/notifications.html",
        context=notifications_widget,
        position=10,
    ),
    HomeWidget(
        key="followed",
        title=_("Changes on records I follow"),
        template="home/widgets/followed.html",
        context=followed_widget,
        position=50,
    ),
    HomeWidget(
        key="recent",
        title=_("Recently viewed"),
        template="home/widgets/recent.html",
        context=recent_widget,
        position=70,
    ),
    HomeWidget(key="team", title=_("Your team"), template="home/widgets/team.html", context=team_widget, position=90),
    HomeWidget(
        key="getting_started",
        title=_("Getting started"),
        template="home/widgets/getting_started.html",
        context=getting_started_widget,
        position=100,
    ),
)


def home_widgets(*, member: Member, request: HttpRequest) -> list[ShownWidget]:
    """The widgets this member sees, with their contexts, ordered by position (then key)."""
    declared = [(w, w.key) for w in BUILTIN]
    declared += [(w, f"{spec.key}.{w.key}") for spec, w in extensions.home_widgets(member=member)]
    shown = []
    for widget, key in declared:
        data = widget.context(member, request)
        if data is None:
            continue
        shown.append(
            ShownWidget(
                key=key.replace(".", "-"),
                title=widget.title,
                template=widget.template,
                data=data,
                position=widget.position,
            )
        )
    return sorted(shown, key=lambda w: (w.position, w.key))
