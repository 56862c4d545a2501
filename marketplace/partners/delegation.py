"""Delegated access: a tenant admin lets a partner's team into the workspace with a chosen role.

The grant is a public `PartnerAccess` row (so the partner portal can list it); its effect is tenant
side: every user of the partner's team gets a `Member` marked with `partner_id`, in the granted role,
never an administrator. Revoking deactivates exactly those members at once (their sessions end and
their API tokens go, as for any deactivation). A user who already was a member of the tenant on
their own keeps that membership untouched: the grant neither changes nor removes it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from billing.seats import tenant_seats_changed
from crm_apps.access.grants import access_changed
from crm_apps.access.lock_objects import member_lock
from crm_apps.access.models import ApiToken, Member, Role
from crm_apps.access.privileges import require_tenant_admin
from crm_apps.access.services import member_create
from crm_apps.audit import services as audit
from marketplace.partners.models import Partner, PartnerAccess, PartnerMember
from tenants.models import Tenant, User, WorkspaceMembership
from tenants.runtime import current_schema


def _tenant_here() -> Tenant:
    return Tenant.objects.get(schema_name=current_schema())


def _require_admin(actor: Member) -> None:
    require_tenant_admin(actor, _("Only administrators can give partners access."))


def _member_join(*, tenant: Tenant, partner: Partner, user: User, role: Role) -> str:
    """Make one partner user a partner member here; 'joined', 'updated' or 'own member' (left alone)."""
    existing = Member.objects.filter(user=user).first()
    if existing is not None and existing.active and existing.partner_id is None:
        return "own member"
    if existing is not None and existing.active and existing.partner_id is not None:
        locked = member_lock(existing.pk)
        locked.role = role
        locked.partner_id = partner.pk
        locked.save(update_fields=["role", "partner_id"])
        return "updated"
    member = member_create(tenant=tenant, user=user, is_admin=False, role=role)
    Member.objects.filter(pk=member.pk).update(partner_id=partner.pk, role=role, is_admin=False)
    return "joined"


def _member_leave(*, tenant: Tenant, member: Member) -> None:
    """Deactivate a partner member: sessions end (epoch bump), tokens go, the directory follows."""
    member = member_lock(member.pk)
    if member.active:
        member.active = False
        member.deactivated_at = timezone.now()
        member.session_epoch += 1
        member.save(update_fields=["active", "deactivated_at", "session_epoch"])
    ApiToken.objects.filter(member=member).delete()
    WorkspaceMembership.objects.filter(user_id=member.user_id, tenant=tenant).update(is_active=False)
    tenant_seats_changed(tenant=tenant)


@transaction.atomic
def partner_access_grant(*, actor: Member, partner_slug: Any, role: Role | None) -> PartnerAccess:
    """Admins grant a listed partner access with a role below the top; granting again changes the role."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    slug = partner_slug.strip().lower() if isinstance(partner_slug, str) else ""
    partner = Partner.listed().filter(slug=slug).first() if slug else None
    if partner is None:
        errors["partner"] = [_("There is no listed partner with this address name.")]
    if role is None or role.parent_id is None:
        errors["role"] = [_("Choose a role below the top of the hierarchy.")]
    if errors:
        raise ValidationError(errors)
    assert partner is not None and role is not None
    tenant = _tenant_here()
    access = (
        PartnerAccess.objects.select_for_update()
        .filter(partner=partner, tenant=tenant, revoked_at__isnull=True)
        .first()
    )
    previous_role = access.role_name if access is not None else None
    if access is None:
        access = PartnerAccess.objects.create(
            partner=partner, tenant=tenant, role_id=role.pk, role_name=role.name, granted_by=actor.user.email
        )
    else:
        access.role_id, access.role_name = role.pk, role.name
        access.save(update_fields=["role_id", "role_name"])
    outcomes: dict[str, str] = {}
    for pm in PartnerMember.objects.filter(partner=partner, user__is_active=True).select_related("user"):
        outcomes[pm.user.email] = _member_join(tenant=tenant, partner=partner, user=pm.user, role=role)
    access_changed()
    audit.audit_log(
        action=audit.PERMISSION_CHANGED,
        actor=actor,
        module="partners",
        record_id=partner.pk,
        record_label=partner.name,
        changes={"role": [previous_role, role.name]},
        details={"operation": "partner_access_granted", "partner": partner.slug, "members": outcomes},
    )
    return access


@transaction.atomic
def partner_access_revoke(*, actor: Member, access_id: Any) -> PartnerAccess:
    """Admins revoke a partner's access: its members here are deactivated at once."""
    _require_admin(actor)
    tenant = _tenant_here()
    access = (
        PartnerAccess.objects.select_for_update()
        .select_related("partner")
        .filter(pk=access_id if isinstance(access_id, int) else -1, tenant=tenant, revoked_at__isnull=True)
        .first()
    )
    if access is None:
        raise ValidationError(_("This access was already revoked."))
    access.revoked_at = timezone.now()
    access.revoked_by = actor.user.email
    access.save(update_fields=["revoked_at", "revoked_by"])
    left = []
    for member in Member.objects.filter(partner_id=access.partner_id, active=True).select_related("user"):
        _member_leave(tenant=tenant, member=member)
        left.append(member.user.email)
    access_changed()
    audit.audit_log(
        action=audit.PERMISSION_CHANGED,
        actor=actor,
        module="partners",
        record_id=access.partner_id,
        record_label=access.partner.name,
        changes={"role": [access.role_name, None]},
        details={"operation": "partner_access_revoked", "partner": access.partner.slug, "members": left},
    )
    return access


def partner_user_access_sync(*, partner: Partner, user: User) -> None:
    """After a partner's team changed: `user` joins (or leaves) every workspace that granted the partner access."""
    in_team = PartnerMember.objects.filter(partner=partner, user=user).exists() and user.is_active
    accesses = list(PartnerAccess.objects.filter(partner=partner, revoked_at__isnull=True).select_related("tenant"))
    for access in accesses:
        with tenant_context(access.tenant):
            role = Role.objects.filter(pk=access.role_id).first()
            if in_team and role is not None:
                outcome = _member_join(tenant=access.tenant, partner=partner, user=user, role=role)
                operation = "partner_member_joined"
            else:
                member = Member.objects.filter(user=user, partner_id=partner.pk, active=True).first()
                if member is None:
                    continue
                _member_leave(tenant=access.tenant, member=member)
                outcome = "left"
                operation = "partner_member_left"
            access_changed()
            audit.audit_log(
                action=audit.MEMBER_CHANGED,
                module="partners",
                record_id=partner.pk,
                record_label=partner.name,
                actor_label=f"partner:{partner.slug}",
                details={"operation": operation, "user": user.email, "outcome": outcome},
            )
