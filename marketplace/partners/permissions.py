"""What each partner role may do in the portal: data, not `if role == ...` in views.

Views and services ask `partner_has_perm(member, "leads.view")`. Pages other packages add to the
portal (extensions, sales, payouts) use the codenames below too.
"""

from __future__ import annotations

from marketplace.partners.models import PartnerMember, PartnerRole

PROFILE_VIEW = "profile.view"
PROFILE_CHANGE = "profile.change"
TEAM_VIEW = "team.view"
TEAM_MANAGE = "team.manage"
LEADS_VIEW = "leads.view"
LISTING_MANAGE = "listing.manage"
PAYOUTS_MANAGE = "payouts.manage"
PAYOUTS_VIEW = "payouts.view"
EXTENSIONS_MANAGE = "extensions.manage"
SALES_VIEW = "sales.view"
WORKSPACES_OPEN = "workspaces.open"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    PartnerRole.OWNER: frozenset(
        {
            PROFILE_VIEW,
            PROFILE_CHANGE,
            TEAM_VIEW,
            TEAM_MANAGE,
            LEADS_VIEW,
            LISTING_MANAGE,
            PAYOUTS_MANAGE,
            PAYOUTS_VIEW,
            EXTENSIONS_MANAGE,
            SALES_VIEW,
            WORKSPACES_OPEN,
        }
    ),
    PartnerRole.DEVELOPER: frozenset({PROFILE_VIEW, TEAM_VIEW, EXTENSIONS_MANAGE, WORKSPACES_OPEN}),
    PartnerRole.SALES: frozenset({PROFILE_VIEW, PROFILE_CHANGE, TEAM_VIEW, LEADS_VIEW, SALES_VIEW, WORKSPACES_OPEN}),
}


def partner_has_perm(member: PartnerMember | None, perm: str) -> bool:
    """True when this partner member's role grants `perm`."""
    return member is not None and perm in ROLE_PERMISSIONS.get(member.role, frozenset())


def partner_perms(member: PartnerMember | None) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(member.role, frozenset()) if member is not None else frozenset()
