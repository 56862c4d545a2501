"""MFA in a workspace: the audit trail of second-factor events, the workspace's "require MFA" setting and
the check before an API token is created. The factors themselves are the identity's (tenants/mfa)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.access.privileges import require_tenant_admin
from crm_apps.audit.services import MFA_CHANGED, MFA_FAILED, MFA_VERIFIED, SETTINGS_CHANGED, audit_log
from tenants.mfa.services import code_verify, user_has_factor, workspace_mfa_required, workspace_mfa_set
from tenants.mfa.state import mfa_required_for, recently_verified

_ACTIONS = {"verified": MFA_VERIFIED, "failed": MFA_FAILED}


def on_mfa_event(sender: Any, request: Any, user: Any, action: str, details: dict[str, Any], **kwargs: Any) -> None:
    """Write a second-factor event to this workspace's audit trail (nothing on the public host)."""
    tenant = getattr(request, "tenant", None)
    schema = getattr(connection, "schema_name", "public")
    if tenant is None or tenant.schema_name == "public" or schema != tenant.schema_name:
        return
    member = getattr(request, "member", None) or Member.objects.filter(user_id=user.pk).first()
    audit_log(
        action=_ACTIONS.get(action, MFA_CHANGED),
        actor=member,
        actor_label=user.email,
        details={"mfa": action, **{k: v for k, v in details.items() if isinstance(v, str | bool | int)}},
    )


def workspace_mfa_require(*, actor: Member, tenant: Any, required: bool) -> None:
    """An administrator turns "members must use two-factor authentication" on or off; turning it on is
    refused while the administrator has no factor themselves (they would be asked to enrol at once)."""
    require_tenant_admin(actor)
    if required and not user_has_factor(actor.user):
        raise ValidationError(
            {"required": [_("Set up two-factor authentication for yourself first, then require it of everyone.")]}
        )
    workspace_mfa_set(tenant=tenant, required=required)
    audit_log(action=SETTINGS_CHANGED, actor=actor, details={"setting": "mfa_required", "value": required})


def token_creation_allowed(request: Any, member: Member) -> bool:
    """A token may be created from this session: no factor is needed, or one was checked recently."""
    return not mfa_required_for(request, member.user) or recently_verified(request)


def token_otp_check(*, request: Any, user: Any, otp: str) -> dict[str, list[str]] | None:
    """`POST /api/v1/auth/token`: the field errors about the second factor, or None when it is satisfied."""
    if user_has_factor(user):
        if not otp:
            return {"otp": [_("This account uses two-factor authentication: send a code in the “otp” field.")]}
        if code_verify(user=user, code=otp) is None:
            return {"otp": [_("That code is not right, or it was already used.")]}
        return None
    if workspace_mfa_required(getattr(request, "tenant", None)):
        return {"otp": [_("This workspace requires two-factor authentication: sign in on the web to set it up first.")]}
    return None
