"""Reads for members, tokens and the role hierarchy of the current tenant."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.sessions.models import Session
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from crm_apps.access.models import ApiToken, Invitation, Member, MemberSession, Role
from crm_apps.access.privileges import Privilege
from saas.prepared import Prepared

# Every signed-in request asks: compiled once per process (saas/prepared.py). One member per user: no ORDER BY.
_member_by_user: Prepared[Member] = Prepared(
    lambda user_id: (
        Member.objects.select_related("user").filter(user_id=user_id, active=True, user__is_active=True).order_by()[:1]
    ),
    {"user_id": -7_654_321},
)


def _session_of(column: str) -> Subquery:
    return Subquery(Session.objects.filter(session_key=OuterRef("session_key")).values(column)[:1])


# A signed-in page's session row with the member it was recorded for and the member's user: one statement
# instead of the session's and the member's (crm_apps/access/session_store.py).
_member_session_by_key: Prepared[MemberSession] = Prepared(
    lambda session_key: (
        MemberSession.objects.select_related("member__user")
        .filter(session_key=session_key)
        .annotate(session_data=_session_of("session_data"), session_expires=_session_of("expire_date"))
        .order_by()[:1]
    ),
    {"session_key": "prepared-sample-member-session"},
)


def member_for_user(*, user_id: int) -> Member | None:
    """The active membership of this user in the current tenant, or None."""
    return _member_by_user.first(user_id=user_id)


def member_session_read(*, session_key: str) -> MemberSession | None:
    """The member session row for this key, its member and user joined, and the session table's row for the same
    key beside it (`session_data` and `session_expires`, both None when the session itself is gone); None when
    no member session has this key. Expiry is the caller's to check."""
    return _member_session_by_key.first(session_key=session_key)


def member_list() -> QuerySet[Member]:
    return Member.objects.select_related("user", "role").order_by("-active", "user__name", "id")


def access_member(*, actor: Member, member_id: int) -> Member | None:
    """A member of this tenant that `actor` (an admin) may manage; None for missing or forbidden."""
    from crm_apps.access.visibility import has_privilege

    if not has_privilege(actor=actor, privilege=Privilege.MANAGE_MEMBERS):  # administrators hold it
        return None
    return Member.objects.select_related("user").filter(pk=member_id).first()


def invitation_pending_list() -> QuerySet[Invitation]:
    from django.utils import timezone

    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by__user")


def api_token_list(*, member: Member) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(member=member).order_by("-created_at")


@dataclass
class RoleNode:
    role: Role
    depth: int
    members: int
    children: list[RoleNode] = field(default_factory=list)

    def walk(self) -> Iterator[RoleNode]:
        """This node and everything below it, top down."""
        yield self
        for child in self.children:
            yield from child.walk()


def role_tree() -> list[RoleNode]:
    """The role hierarchy top down (siblings in creation order), with each role's active member count."""
    roles = list(
        Role.objects.annotate(active_members=Count("members", filter=Q(members__active=True)))
        .prefetch_related("profiles")
        .order_by("pk")
    )
    nodes = {role.pk: RoleNode(role=role, depth=0, members=role.active_members) for role in roles}
    tops: list[RoleNode] = []
    for role in roles:
        parent = nodes.get(role.parent_id) if role.parent_id is not None else None
        (parent.children if parent is not None else tops).append(nodes[role.pk])
    for top in tops:
        stack = [(top, 0)]
        while stack:
            node, depth = stack.pop()
            node.depth = depth
            stack.extend((child, depth + 1) for child in node.children)
    return tops


def role_list() -> list[RoleNode]:
    """Every role in tree order (each followed by its subordinates)."""
    return [node for top in role_tree() for node in top.walk()]
