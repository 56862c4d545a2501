"""Row locks of the partners app, always taken in this order to avoid deadlocks:

1. the partner row;
2. its members (by primary key).

No lock is held while Stripe is called: read, call Stripe, then lock and apply (as billing does).
"""

from __future__ import annotations

from marketplace.partners.models import Partner, PartnerMember


def partner_lock(partner_id: int) -> Partner:
    return Partner.objects.select_for_update().get(pk=partner_id)


def partner_members_lock(partner_id: int) -> list[PartnerMember]:
    return list(PartnerMember.objects.select_for_update().filter(partner_id=partner_id).order_by("pk"))
