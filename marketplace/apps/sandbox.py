"""Partner sandboxes: development workspaces a partner creates from the portal to try its apps.

A sandbox is provisioned like any workspace (`tenants.services.tenant_provision`), with the partner
member who created it as its first administrator, but flagged `Tenant.is_sandbox`: billing starts no
subscription for it (so no invoices and it is left out of operators' revenue and subscription figures),
its plan is the unlisted `sandbox` plan (records, members and API requests limited), and every page
shows a "Sandbox" label. In it the partner's own OAuth apps install in their newest version that is not
rejected, without operator review (`App.in_force`); another partner's app never installs there.
Other partners never see it (the portal lists a partner's own sandboxes only).

Only an active partner (one operators have not deactivated, `Partner.is_active`) creates sandboxes, and
its sandboxes take its unreviewed versions only while it stays active. Directory approval
(`Partner.approved_at`) and the authorised badge are not required: a new partner develops its app before
it is listed. Besides the per-partner limit, one person creates at most `PARTNER_SANDBOXES_PER_USER`
sandboxes across all their partners, so registering more partners does not multiply them.

Not protected: the sandbox's members are ordinary members; the partner can invite anyone into it.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from marketplace.apps.models import PartnerSandbox
from marketplace.partners.models import Partner, PartnerMember
from marketplace.partners.permissions import EXTENSIONS_MANAGE, partner_has_perm
from tenants.models import Tenant, User
from tenants.services import tenant_provision

SANDBOX_LIMIT = 2
SANDBOX_PLAN = "sandbox"


def sandbox_list(*, pm: PartnerMember) -> QuerySet[PartnerSandbox]:
    """The partner's own sandboxes, newest first."""
    return PartnerSandbox.objects.filter(partner=pm.partner).select_related("tenant").order_by("-created_at", "-pk")


def sandbox_create(*, pm: PartnerMember, name: str) -> Tenant:
    """A developer of an active partner creates a sandbox (at most SANDBOX_LIMIT per partner and
    PARTNER_SANDBOXES_PER_USER per person) and is its admin."""
    if not partner_has_perm(pm, EXTENSIONS_MANAGE):
        raise PermissionDenied
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ValidationError({"name": [_("Enter a name of at most 60 characters.")]})
    per_user = int(settings.PARTNER_SANDBOXES_PER_USER)
    with transaction.atomic():
        # Both rows locked (partner, then user) serialise the two limit checks.
        partner = Partner.objects.select_for_update().filter(pk=pm.partner_id).first()
        User.objects.select_for_update().filter(pk=pm.user_id).first()
        if partner is None or not partner.is_active:
            raise ValidationError(
                {
                    "name": [
                        _("This partner has been deactivated by the platform's operators; it cannot create sandboxes.")
                    ]
                }
            )
        if PartnerSandbox.objects.filter(partner_id=pm.partner_id).count() >= SANDBOX_LIMIT:
            raise ValidationError({"name": [_("A partner can have at most %(n)d sandboxes.") % {"n": SANDBOX_LIMIT}]})
        if PartnerSandbox.objects.filter(created_by_id=pm.user_id).count() >= per_user:
            message = _("You have already created %(n)d sandboxes, the most one person can create (for all partners).")
            raise ValidationError({"name": [message % {"n": per_user}]})
        tenant = tenant_provision(
            slug=f"sandbox-{secrets.token_hex(5)}",
            name=_("%(name)s (sandbox)") % {"name": name},
            admin=pm.user,
            sandbox=True,
            plan_code=SANDBOX_PLAN,
        )
        PartnerSandbox.objects.create(partner_id=pm.partner_id, tenant=tenant, created_by=pm.user)
    return tenant
