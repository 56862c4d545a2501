"""Writes for members, invitations and API tokens. Every entry path (UI, API, commands) calls these."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.lock_objects import active_admins_lock, member_lock
from crm_apps.access.models import ApiToken, Invitation, Member, validate_timezone
from crm_apps.audit import services as audit
from saas.throttle import throttle_exceeded, throttle_hit
from tenants.mail import mail_enqueue
from tenants.models import Tenant, User, WorkspaceMembership, normalize_email
from tenants.runtime import current_schema, current_tenant, in_public_schema
from tenants.services import tenant_url

INVITATION_TTL = timedelta(days=7)
TOKEN_PREFIX_LEN = 8


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _current_tenant() -> Tenant:
    tenant = current_tenant()
    if isinstance(tenant, Tenant):
        return tenant
    if in_public_schema():
        raise RuntimeError("Member services run inside a tenant schema.")
    return Tenant.objects.get(schema_name=current_schema())


def _directory_sync(*, tenant: Tenant, user: User, active: bool) -> None:
    WorkspaceMembership.objects.update_or_create(user=user, tenant=tenant, defaults={"is_active": active})


@transaction.atomic
def member_create(*, tenant: Tenant, user: User, is_admin: bool = False, language: str = "en") -> Member:
    """Make `user` a member of the current tenant (reactivating an old membership)."""
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    member, created = Member.objects.get_or_create(user=user, defaults={"is_admin": is_admin, "language": language})
    if not created and not member.active:
        member.active = True
        member.deactivated_at = None
        member.is_admin = is_admin
        member.save(update_fields=["active", "deactivated_at", "is_admin"])
    _directory_sync(tenant=tenant, user=user, active=True)
    return member


def _locked(actor: Member, member: Member) -> tuple[Member, Member, list[Member]]:
    """Lock the active admins, then re-read actor and target under the lock (see lock_objects)."""
    admins = active_admins_lock()
    return member_lock(actor.pk), member_lock(member.pk), admins


@transaction.atomic
def member_deactivate(*, actor: Member, member: Member) -> Member:
    """Admins deactivate members; never themselves, never the last active admin. Their open sessions
    and API tokens stop working at once."""
    actor, member, admins = _locked(actor, member)
    if not (actor.is_admin and actor.active):
        raise PermissionDenied(_("Only administrators can deactivate members."))
    if member.pk == actor.pk:
        raise ValidationError(_("You cannot deactivate yourself."))
    if member.is_admin and member.active and len(admins) <= 1:
        raise ValidationError(_("The last active administrator cannot be deactivated."))
    was_active = member.active
    member.active = False
    member.deactivated_at = timezone.now()
    member.session_epoch += 1
    member.save(update_fields=["active", "deactivated_at", "session_epoch"])
    tokens, _details = ApiToken.objects.filter(member=member).delete()
    _directory_sync(tenant=_current_tenant(), user=member.user, active=False)
    changes: dict[str, list[object]] = {"active": [True, False]} if was_active else {}
    _member_audit(actor, member, changes, {"operation": "deactivated", "tokens_revoked": tokens})
    return member


def _member_audit(actor: Member, member: Member, changes: dict[str, list[object]], details: dict[str, object]) -> None:
    audit.audit_log(
        action=audit.PERMISSION_CHANGED if "is_admin" in changes else audit.MEMBER_CHANGED,
        actor=actor,
        record_id=member.pk,
        record_label=member.user.email,
        changes=changes,
        details=details,
    )


@transaction.atomic
def member_reactivate(*, actor: Member, member: Member) -> Member:
    """Admins bring a deactivated member back (they sign in again; old sessions stay invalid)."""
    actor, member, _admins = _locked(actor, member)
    if not (actor.is_admin and actor.active):
        raise PermissionDenied(_("Only administrators can reactivate members."))
    was_active = member.active
    member.active = True
    member.deactivated_at = None
    member.save(update_fields=["active", "deactivated_at"])
    _directory_sync(tenant=_current_tenant(), user=member.user, active=True)
    if not was_active:
        _member_audit(actor, member, {"active": [False, True]}, {"operation": "reactivated"})
    return member


@transaction.atomic
def member_set_admin(*, actor: Member, member: Member, is_admin: bool) -> Member:
    """Grant or withdraw administrator rights of active members; a tenant always keeps one active admin."""
    actor, member, admins = _locked(actor, member)
    if not (actor.is_admin and actor.active):
        raise PermissionDenied(_("Only administrators can change administrator rights."))
    if not member.active:
        raise ValidationError(_("Reactivate this member first."))
    if not is_admin and member.is_admin and len(admins) <= 1:
        raise ValidationError(_("The last active administrator must stay an administrator."))
    if member.is_admin != is_admin:
        _member_audit(actor, member, {"is_admin": [member.is_admin, is_admin]}, {"operation": "admin_rights"})
    member.is_admin = is_admin
    member.save(update_fields=["is_admin"])
    return member


@transaction.atomic
def member_update_profile(*, member: Member, name: str, language: str, timezone_name: str) -> Member:
    """A member edits their own display name, language and time zone."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 150:
        errors["name"] = [_("Ensure this value has at most %(max)d characters.") % {"max": 150}]
    if language not in dict(settings.LANGUAGES):
        errors["language"] = [_("Choose one of the available languages.")]
    try:
        validate_timezone(timezone_name)
    except ValidationError as exc:
        errors["timezone"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    member.language = language
    member.timezone = timezone_name
    member.save(update_fields=["language", "timezone"])
    member.user.name = name
    member.user.save(update_fields=["name"])
    return member


def invitation_create(*, actor: Member, email: str, is_admin: bool = False) -> tuple[Invitation, str]:
    """Admins invite by email; returns the invitation and its one-time key (sent by email)."""
    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators can invite members."))
    email = normalize_email(email or "")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": [_("Enter a valid email address.")]}) from exc
    if len(email) > 254:
        raise ValidationError({"email": [_("Ensure this value has at most %(max)d characters.") % {"max": 254}]})
    if Member.objects.filter(user__email__iexact=email, active=True).exists():
        raise ValidationError({"email": [_("This person is already a member of this workspace.")]})
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    try:
        with transaction.atomic():
            # An earlier pending invitation for the same address is replaced by the new one.
            Invitation.objects.filter(email=email, accepted_at__isnull=True, revoked_at__isnull=True).update(
                revoked_at=now
            )
            invitation = Invitation.objects.create(
                email=email,
                is_admin=is_admin,
                invited_by=actor,
                key_hash=_hash(key),
                created_at=now,
                expires_at=now + INVITATION_TTL,
            )
            audit.audit_log(
                action=audit.MEMBER_CHANGED,
                actor=actor,
                record_label=email,
                changes={"is_admin": [None, is_admin]} if is_admin else {},
                details={"operation": "invited", "invitation": invitation.pk, "email": email},
            )
    except IntegrityError as exc:
        raise ValidationError({"email": [_("An invitation for this address was just sent.")]}) from exc
    invitation_email_send(invitation=invitation, key=key)
    return invitation, key


def invitation_email_send(*, invitation: Invitation, key: str) -> None:
    """Email the invitation link (in the inviter's language), once the invitation is committed."""
    tenant = _current_tenant()
    mail_enqueue(
        to=[invitation.email],
        subject=_("You are invited to %(workspace)s") % {"workspace": tenant.name},
        template="access/email/invitation.txt",
        context={
            "url": tenant_url(tenant.schema_name, f"/invite/{key}/"),
            "workspace": tenant.name,
            "inviter": invitation.invited_by.user.name,
            "expires_at": invitation.expires_at,
        },
    )


def invitation_get_pending(*, key: str) -> Invitation | None:
    """The pending, unexpired invitation for this key, if any."""
    invitation = Invitation.objects.filter(key_hash=_hash(key)).select_related("invited_by").first()
    if invitation is None or not invitation.is_pending:
        return None
    return invitation


def _new_account_errors(*, email: str, name: str, password: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 150:
        errors["name"] = [_("Ensure this value has at most %(max)d characters.") % {"max": 150}]
    if not password:
        errors["password"] = [_("This field is required.")]
    elif len(password) > 128:
        errors["password"] = [_("Ensure this value has at most %(max)d characters.") % {"max": 128}]
    else:
        try:
            validate_password(password, User(email=email, name=name))
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    return errors


@transaction.atomic
def invitation_accept(*, key: str, password: str, name: str = "") -> Member:
    """Join through an invitation, used once.

    The invited address decides the account: an existing identity proves itself with its password,
    a new one is created with `name` and `password`.
    """
    invitation = Invitation.objects.select_for_update().filter(key_hash=_hash(key)).first()
    if invitation is None or not invitation.is_pending:
        raise ValidationError(_("This invitation is no longer valid."))
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is not None:
        if not password or len(password) > 128 or not user.check_password(password) or not user.is_active:
            raise ValidationError({"password": [_("Wrong password for %(email)s.") % {"email": invitation.email}]})
    else:
        name = (name or "").strip()
        errors = _new_account_errors(email=invitation.email, name=name, password=password or "")
        if errors:
            raise ValidationError(errors)
        user = User.objects.create_user(invitation.email, password, name=name)
    member = member_create(tenant=_current_tenant(), user=user, is_admin=invitation.is_admin)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = member
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.audit_log(
        action=audit.MEMBER_CHANGED,
        actor=member,
        record_id=member.pk,
        record_label=user.email,
        changes={"is_admin": [None, True]} if invitation.is_admin else {},
        details={"operation": "joined", "invitation": invitation.pk, "invited_by": invitation.invited_by_id},
    )
    return member


def invitation_revoke(*, actor: Member, invitation: Invitation) -> Invitation:
    """Admins withdraw a pending invitation."""
    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators can revoke invitations."))
    if invitation.accepted_at is None and invitation.revoked_at is None:
        with transaction.atomic():
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit.audit_log(
                action=audit.MEMBER_CHANGED,
                actor=actor,
                record_label=invitation.email,
                details={"operation": "invitation_revoked", "invitation": invitation.pk, "email": invitation.email},
            )
    return invitation


def api_token_create(*, member: Member, name: str) -> tuple[ApiToken, str]:
    """Create a token for `member`; the returned key is shown once and never stored in clear."""
    name = (name or "").strip() or _("API token")
    if ApiToken.objects.filter(member=member).count() >= TOKENS_PER_MEMBER:
        raise ValidationError(
            {"name": [_("You have %(n)d tokens already; revoke some first.") % {"n": TOKENS_PER_MEMBER}]}
        )
    if len(name) > 100:
        raise ValidationError({"name": [_("Ensure this value has at most %(max)d characters.") % {"max": 100}]})
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(member=member, name=name, prefix=key[:TOKEN_PREFIX_LEN], key_hash=_hash(key))
        _token_audit(audit.TOKEN_CREATED, member, token)
    return token, key


def _token_audit(action: str, member: Member, token: ApiToken) -> None:
    """Name and the public prefix only: the key itself is never logged."""
    audit.audit_log(
        action=action, actor=member, record_id=token.pk, record_label=token.name, details={"prefix": token.prefix}
    )


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The token for this key in the current tenant, if its member and user are active."""
    token = (
        ApiToken.objects.select_related("member", "member__user")
        .filter(key_hash=_hash(key), member__active=True, member__user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_revoke(*, member: Member, token_id: int) -> bool:
    """A member revokes one of their own tokens; False when no such token is theirs."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(member=member, pk=token_id).first()
        if token is None:
            return False
        _token_audit(audit.TOKEN_REVOKED, member, token)
        ApiToken.objects.filter(pk=token.pk).delete()
    return True


@transaction.atomic
def member_directory_sync(*, tenant: Tenant) -> dict[str, int]:
    """Make the public directory match this tenant's Member rows exactly."""
    members = dict(Member.objects.values_list("user_id", "active"))
    existing = dict(WorkspaceMembership.objects.filter(tenant=tenant).values_list("user_id", "is_active"))
    created = updated = 0
    for user_id, active in members.items():
        if user_id not in existing:
            WorkspaceMembership.objects.create(user_id=user_id, tenant=tenant, is_active=active)
            created += 1
        elif existing[user_id] != active:
            WorkspaceMembership.objects.filter(user_id=user_id, tenant=tenant).update(is_active=active)
            updated += 1
    removed, _details = WorkspaceMembership.objects.filter(tenant=tenant).exclude(user_id__in=members).delete()
    return {"created": created, "updated": updated, "removed": removed}


LOGIN_FAILURE_LIMIT = 10
LOGIN_FAILURE_WINDOW = 15 * 60
TOKENS_PER_MEMBER = 50


def _login_keys(*, client_ip: str, email: str) -> list[str]:
    return [f"login-fail:ip:{client_ip}", f"login-fail:email:{normalize_email(email)[:254]}"]


def login_blocked(*, client_ip: str, email: str) -> bool:
    """True after 10 failed sign-ins in 15 minutes from this address or for this email (per tenant)."""
    return throttle_exceeded(_login_keys(client_ip=client_ip, email=email), limit=LOGIN_FAILURE_LIMIT)


def login_failed(*, client_ip: str, email: str) -> None:
    """Count a failed sign-in (HTML form or token API)."""
    throttle_hit(_login_keys(client_ip=client_ip, email=email), window=LOGIN_FAILURE_WINDOW)
