"""Row locks of the access app, always taken in this order to avoid deadlocks:

1. the active administrators of the tenant, by primary key;
2. the member being changed.
"""

from __future__ import annotations

from crm_apps.access.models import Member


def active_admins_lock() -> list[Member]:
    """Lock every active admin row (by pk) so 'keep one admin' checks cannot race each other."""
    return list(Member.objects.select_for_update().filter(is_admin=True, active=True).order_by("pk"))


def member_lock(member_id: int) -> Member:
    return Member.objects.select_for_update().select_related("user").get(pk=member_id)
