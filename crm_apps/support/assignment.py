"""Round-robin assignment inside a team: members take new tickets in turn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crm_apps.access.models import Group, Member
from crm_apps.support.models import RoundRobin


def team_members(team: Group) -> list[Member]:
    """Active members of the team (directly or through one of its roles), in a stable order."""
    return list(
        Member.objects.filter(active=True)
        .filter(Q(groups=team) | Q(role__in=team.roles.all()))
        .distinct()
        .order_by("id")
    )


def next_assignee(
    *, team: Group, only_if_enabled: bool = False, load: Callable[[list[int]], dict[int, int]] | None = None
) -> Member | None:
    """The member after the one who got the previous ticket (the cursor row is locked, so two tickets
    created at once go to two members); for a load-balanced team, the member with the fewest open tickets
    (`load(member ids) -> {id: count}`), the next in turn among equals. None for a team without active
    members, or, with `only_if_enabled`, a team whose round robin is off or not set up."""
    with transaction.atomic():
        cursor = RoundRobin.objects.select_for_update().filter(team=team).first()
        if cursor is None:
            if only_if_enabled:
                return None
            cursor, _created = RoundRobin.objects.get_or_create(team=team)
            cursor = RoundRobin.objects.select_for_update().get(pk=cursor.pk)
        if only_if_enabled and not cursor.enabled:
            return None
        members = team_members(team)
        if not members:
            return None
        chosen = _after(members, cursor.last_member_id)
        if cursor.mode == RoundRobin.Mode.LOAD_BALANCED and load is not None:
            counts = load([m.pk for m in members])
            start = members.index(chosen)
            in_turn = members[start:] + members[:start]
            chosen = min(in_turn, key=lambda m: counts.get(m.pk, 0))  # the first of the least loaded
        cursor.last_member = chosen
        cursor.updated_at = timezone.now()
        cursor.save(update_fields=["last_member", "updated_at"])
        return chosen


def _after(members: list[Member], last_id: Any) -> Member:
    for member in members:
        if last_id is None or member.pk > last_id:
            return member
    return members[0]
