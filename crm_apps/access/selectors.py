"""Reads for members and tokens of the current tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from crm_apps.access.models import ApiToken, Invitation, Member


def member_for_user(*, user_id: int) -> Member | None:
    """The active membership of this user in the current tenant, or None."""
    return Member.objects.select_related("user").filter(user_id=user_id, active=True, user__is_active=True).first()


def member_list() -> QuerySet[Member]:
    return Member.objects.select_related("user").order_by("-active", "user__name", "id")


def access_member(*, actor: Member, member_id: int) -> Member | None:
    """A member of this tenant that `actor` (an admin) may manage; None for missing or forbidden."""
    from crm_apps.access.visibility import has_privilege

    if not (actor.is_admin or has_privilege(actor=actor, privilege="manage_members")):
        return None
    return Member.objects.select_related("user").filter(pk=member_id).first()


def invitation_pending_list() -> QuerySet[Invitation]:
    from django.utils import timezone

    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by__user")


def api_token_list(*, member: Member) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(member=member).order_by("-created_at")
