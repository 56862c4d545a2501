"""Writes for members, invitations and API tokens. Every entry path (UI, API, commands) calls these."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import entitlements, seats
from crm_apps.access.formats import choice_valid
from crm_apps.access.grants import ACTIONS, PRIVILEGES, access_changed
from crm_apps.access.lock_objects import active_admins_lock, member_lock
from crm_apps.access.models import (
    ApiToken,
    Group,
    Invitation,
    Member,
    Profile,
    ProfileField,
    ProfileModule,
    Role,
    SharingDefault,
    SharingRule,
    validate_timezone,
)
from crm_apps.access.privileges import Privilege, is_tenant_admin, require_tenant_admin
from crm_apps.audit import services as audit
from saas.prepared import Prepared
from saas.timezones import time_zone_names
from saas.value_labels import active_language, labels_set
from tenants.login_throttle import LOGIN_FAILURE_LIMIT as LOGIN_FAILURE_LIMIT  # moved there; still importable here
from tenants.login_throttle import LOGIN_FAILURE_WINDOW as LOGIN_FAILURE_WINDOW
from tenants.login_throttle import login_blocked as login_blocked
from tenants.login_throttle import login_failed as login_failed
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
    seats.tenant_seats_changed(tenant=tenant)  # products billed per seat follow, after commit


@transaction.atomic
def member_create(
    *, tenant: Tenant, user: User, is_admin: bool = False, language: str = "en", role: Role | None = None
) -> Member:
    """Make `user` a member of the current tenant (reactivating an old membership)."""
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    if role is None or role.parent_id is None:
        role = Role.objects.filter(default_for_new=True).first()
    member, created = Member.objects.get_or_create(
        user=user, defaults={"is_admin": is_admin, "language": language, "role": role}
    )
    if not created and not member.active:
        member.active = True
        member.deactivated_at = None
        member.is_admin = is_admin
        member.role = member.role or role
        member.save(update_fields=["active", "deactivated_at", "is_admin", "role"])
    _directory_sync(tenant=tenant, user=user, active=True)
    access_changed()
    return member


def _may_manage(actor: Member, member: Member | None) -> bool:
    """Admins manage every member; members whose profiles grant "manage members" manage non-admins."""
    from crm_apps.access.visibility import has_privilege

    if is_tenant_admin(actor):
        return True
    return has_privilege(actor=actor, privilege=Privilege.MANAGE_MEMBERS) and (member is None or not member.is_admin)


def _locked(actor: Member, member: Member) -> tuple[Member, Member, list[Member]]:
    """Lock the active admins, then re-read actor and target under the lock (see lock_objects)."""
    admins = active_admins_lock()
    return member_lock(actor.pk), member_lock(member.pk), admins


@transaction.atomic
def member_deactivate(*, actor: Member, member: Member) -> Member:
    """Admins deactivate members; never themselves, never the last active admin. Their open sessions
    and API tokens stop working at once."""
    actor, member, admins = _locked(actor, member)
    if not _may_manage(actor, member):
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
    access_changed()
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
    if not _may_manage(actor, member):
        raise PermissionDenied(_("Only administrators can reactivate members."))
    if not member.active:
        entitlements.members_check(adding=1)
    was_active = member.active
    member.active = True
    member.deactivated_at = None
    member.save(update_fields=["active", "deactivated_at"])
    _directory_sync(tenant=_current_tenant(), user=member.user, active=True)
    access_changed()
    if not was_active:
        _member_audit(actor, member, {"active": [False, True]}, {"operation": "reactivated"})
    return member


@transaction.atomic
def member_set_admin(*, actor: Member, member: Member, is_admin: bool) -> Member:
    """Grant or withdraw administrator rights of active members; a tenant always keeps one active admin."""
    actor, member, admins = _locked(actor, member)
    require_tenant_admin(actor, _("Only administrators can change administrator rights."))
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
def member_update_profile(
    *,
    member: Member,
    name: str,
    language: str,
    timezone_name: str,
    date_format: str | None = None,
    time_format: str | None = None,
    number_format: str | None = None,
) -> Member:
    """A member edits their own display name, language, time zone and (when given) date, time and
    number formats ("" = the language's formats)."""
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
    errors.update(member_formats_errors(date_format=date_format, time_format=time_format, number_format=number_format))
    if errors:
        raise ValidationError(errors)
    member.language = language
    member.timezone = timezone_name
    fields = ["language", "timezone"]
    for field, value in (("date_format", date_format), ("time_format", time_format), ("number_format", number_format)):
        if value is not None:
            setattr(member, field, value)
            fields.append(field)
    with transaction.atomic():
        member.save(update_fields=fields)
        member.user.name = name
        member.user.save(update_fields=["name"])
    return member


def member_formats_errors(
    *, date_format: str | None, time_format: str | None, number_format: str | None
) -> dict[str, list[str]]:
    """Field errors for unknown format choices (None = not being changed)."""
    errors: dict[str, list[str]] = {}
    for field, kind, value in (
        ("date_format", "date", date_format),
        ("time_format", "time", time_format),
        ("number_format", "number", number_format),
    ):
        if value is not None and not (isinstance(value, str) and choice_valid(kind=kind, value=value)):
            errors[field] = [_("Choose one of the offered formats.")]
    return errors


def member_update_formats(
    *, member: Member, date_format: str | None = None, time_format: str | None = None, number_format: str | None = None
) -> Member:
    """A member changes only their date, time and number formats (PATCH /api/v1/me)."""
    errors = member_formats_errors(date_format=date_format, time_format=time_format, number_format=number_format)
    if errors:
        raise ValidationError(errors)
    fields = []
    for field, value in (("date_format", date_format), ("time_format", time_format), ("number_format", number_format)):
        if value is not None:
            setattr(member, field, value)
            fields.append(field)
    if fields:
        member.save(update_fields=fields)
    return member


def invitation_create(
    *, actor: Member, email: str, is_admin: bool = False, role: Role | None = None
) -> tuple[Invitation, str]:
    """Admins (and members allowed to manage members, for non-admin invitations) invite by email;
    returns the invitation and its one-time key (sent by email)."""
    if not _may_manage(actor, None) or (is_admin and not actor.is_admin):
        raise PermissionDenied(_("Only administrators can invite members."))
    if role is not None and not actor.is_admin:
        # A role carries profiles: choosing it is placing someone in the hierarchy (admins only).
        raise PermissionDenied(_("Only administrators can choose a new member's role."))
    if role is not None and role.parent_id is None:
        raise ValidationError({"role": [_("Members cannot hold the top role; choose one below it.")]})
    email = normalize_email(email or "")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": [_("Enter a valid email address.")]}) from exc
    if len(email) > 254:
        raise ValidationError({"email": [_("Ensure this value has at most %(max)d characters.") % {"max": 254}]})
    if Member.objects.filter(user__email__iexact=email, active=True).exists():
        raise ValidationError({"email": [_("This person is already a member of this workspace.")]})
    entitlements.members_check(adding=1, pending_invitations=True)
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
                role=role,
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
    # The invitation held a place; limits lowered since (a plan change) still apply when it is used.
    entitlements.members_check(adding=1)
    member = member_create(tenant=_current_tenant(), user=user, is_admin=invitation.is_admin, role=invitation.role)
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
    if not _may_manage(actor, None) or (invitation.is_admin and not actor.is_admin):
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


def api_token_create(*, member: Member, name: str, scopes: list[str] | None = None) -> tuple[ApiToken, str]:
    """Create a token for `member` (limited to `scopes` when given: an extension's token); the
    returned key is shown once and never stored in clear."""
    name = (name or "").strip() or _("API token")
    if ApiToken.objects.filter(member=member).count() >= TOKENS_PER_MEMBER:
        raise ValidationError(
            {"name": [_("You have %(n)d tokens already; revoke some first.") % {"n": TOKENS_PER_MEMBER}]}
        )
    if len(name) > 100:
        raise ValidationError({"name": [_("Ensure this value has at most %(max)d characters.") % {"max": 100}]})
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            member=member, name=name, prefix=key[:TOKEN_PREFIX_LEN], key_hash=_hash(key), scopes=scopes
        )
        _token_audit(audit.TOKEN_CREATED, member, token)
    return token, key


def _token_audit(action: str, member: Member, token: ApiToken) -> None:
    """Name and the public prefix only: the key itself is never logged."""
    audit.audit_log(
        action=action, actor=member, record_id=token.pk, record_label=token.name, details={"prefix": token.prefix}
    )


# Every API call asks: compiled once per process (saas/prepared.py). A unique key: no ORDER BY.
_token_by_hash: Prepared[ApiToken] = Prepared(
    lambda key_hash: (
        ApiToken.objects.select_related("member", "member__user")
        .filter(key_hash=key_hash, member__active=True, member__user__is_active=True)
        .order_by()[:1]
    ),
    {"key_hash": "prepared-sample-key-hash"},
)


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The token for this key in the current tenant, if its member and user are active."""
    token = _token_by_hash.first(key_hash=_hash(key))
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
    if created or updated or removed:
        seats.tenant_seats_changed(tenant=tenant)
    return {"created": created, "updated": updated, "removed": removed}


TOKENS_PER_MEMBER = 50


# --- Roles, profiles, groups, sharing (administrators only; every change takes effect at once) -----


def _access_changed(actor: Member, operation: str, label: str, details: dict[str, Any]) -> None:
    """Every access change is audited and takes effect at once (grants recomputed on the next request)."""
    audit.audit_log(
        action=audit.PERMISSION_CHANGED, actor=actor, record_label=label, details={"operation": operation, **details}
    )
    access_changed()


def _require_admin(actor: Member) -> None:
    require_tenant_admin(actor, _("Only administrators can change access settings."))


def _name_clean(name: Any, *, max_length: int = 100) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": [_("This field is required.")]})
    if len(name) > max_length or "\x00" in name:
        raise ValidationError({"name": [_("Ensure this value has at most %(max)d characters.") % {"max": max_length}]})
    return name


def _profiles_clean(profile_ids: Iterable[Any]) -> list[Profile]:
    ids = {int(pk) for pk in profile_ids if str(pk).isdecimal()}
    profiles = list(Profile.objects.filter(pk__in=ids))
    if not profiles or len(profiles) != len(ids):
        raise ValidationError({"profiles": [_("Choose at least one profile.")]})
    return profiles


@transaction.atomic
def role_create(*, actor: Member, name: str, parent: Role, profile_ids: Iterable[Any]) -> Role:
    """Add a role reporting to `parent`, carrying the given profiles."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    try:
        name = _name_clean(name)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        profiles = _profiles_clean(profile_ids)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    parent = Role.objects.select_for_update().get(pk=parent.pk)
    role = Role.objects.create(name=name, parent=parent, path="")
    role.path = f"{parent.path}{role.pk}."
    role.save(update_fields=["path"])
    role.profiles.set(profiles)
    _access_changed(
        actor,
        "role_created",
        role.name,
        {"role": role.pk, "parent": parent.name, "profiles": [p.name for p in profiles]},
    )
    return role


@transaction.atomic
def role_update(
    *, actor: Member, role: Role, name: str, profile_ids: Iterable[Any], default_for_new: bool = False
) -> Role:
    """Rename a role, change its profiles, or make it the role new members get."""
    _require_admin(actor)
    role = Role.objects.select_for_update().get(pk=role.pk)
    errors: dict[str, list[str]] = {}
    try:
        role.name = _renamed(role, _name_clean(name))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        profiles = _profiles_clean(profile_ids)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if default_for_new and role.parent_id is None:
        errors["default_for_new"] = [_("Members cannot hold the top role; choose one below it.")]
    if errors:
        raise ValidationError(errors)
    if default_for_new and not role.default_for_new:
        Role.objects.filter(default_for_new=True).update(default_for_new=False)
        role.default_for_new = True
    role.save(update_fields=["name", "labels", "default_for_new"])
    role.profiles.set(profiles)
    _access_changed(
        actor,
        "role_updated",
        role.name,
        {"role": role.pk, "profiles": [p.name for p in profiles], "default_for_new": role.default_for_new},
    )
    return role


@transaction.atomic
def role_move(*, actor: Member, role: Role, parent: Role) -> Role:
    """Re-parent a role with its whole subtree; never under itself or one of its subordinates."""
    _require_admin(actor)
    list(Role.objects.select_for_update().order_by("pk"))  # the tree changes as a whole
    role = Role.objects.get(pk=role.pk)
    parent = Role.objects.get(pk=parent.pk)
    if role.parent_id is None:
        raise ValidationError({"parent": [_("The top role cannot be moved.")]})
    if parent.path.startswith(role.path):
        raise ValidationError({"parent": [_("A role cannot report to itself or to one of its subordinates.")]})
    if role.parent_id == parent.pk:
        return role
    old_prefix, new_prefix = role.path, f"{parent.path}{role.pk}."
    for node in Role.objects.filter(path__startswith=old_prefix):
        node.path = new_prefix + node.path[len(old_prefix) :]
        node.save(update_fields=["path"])
    Role.objects.filter(pk=role.pk).update(parent=parent)
    _access_changed(actor, "role_moved", role.name, {"role": role.pk, "parent": parent.name})
    return Role.objects.get(pk=role.pk)


@transaction.atomic
def role_delete(*, actor: Member, role: Role, transfer_to: Role) -> None:
    """Delete a role: its members move to `transfer_to`, its sub-roles report to its parent."""
    _require_admin(actor)
    list(Role.objects.select_for_update().order_by("pk"))
    role = Role.objects.get(pk=role.pk)
    if role.parent_id is None:
        raise ValidationError({"role": [_("The top role cannot be deleted.")]})
    if transfer_to.path.startswith(role.path) or transfer_to.parent_id is None:
        raise ValidationError({"transfer_to": [_("Choose a role outside the one being deleted, below the top.")]})
    parent = Role.objects.get(pk=role.parent_id)
    Member.objects.filter(role=role).update(role=transfer_to)
    for child in Role.objects.filter(parent=role):
        role_move(actor=actor, role=child, parent=parent)
    Invitation.objects.filter(role=role).update(role=transfer_to)
    if role.default_for_new:
        Role.objects.filter(pk=transfer_to.pk).update(default_for_new=True)
    SharingRule.objects.filter(Q(source_role=role) | Q(target_role=role)).delete()
    role.delete()
    _access_changed(actor, "role_deleted", role.name, {"transfer_to": transfer_to.name})


@transaction.atomic
def member_set_role(*, actor: Member, member: Member, role: Role) -> Member:
    """Admins place a member in the role hierarchy (never in the top role, which stands for the organisation)."""
    _require_admin(actor)
    if role.parent_id is None:
        raise ValidationError({"role": [_("Members cannot hold the top role; choose one below it.")]})
    member = member_lock(member.pk)
    member.role = role
    member.save(update_fields=["role"])
    _access_changed(actor, "member_role_set", member.user.email, {"member": member.pk, "role": role.name})
    return member


PROFILE_FLAGS = (*(f"default_{action}" for action in ACTIONS), *PRIVILEGES)


@transaction.atomic
def _renamed(row: Role | Profile | Group, name: str) -> str:
    """A built-in role, profile or group renamed: the new name is its label in the admin's language
    (saas/value_labels.py); the other languages keep theirs."""
    if row.pk is not None and row.labels and name != row.name and name != row.display_name:
        row.labels = labels_set(row.labels, language=active_language(), text=name)
    return name


def profile_save(
    *, actor: Member, profile: Profile | None, name: str, description: str = "", flags: dict[str, bool]
) -> Profile:
    """Create or change a profile's name, description, module defaults and global privileges."""
    _require_admin(actor)
    profile = Profile() if profile is None else Profile.objects.select_for_update().get(pk=profile.pk)
    profile.name = _renamed(profile, _name_clean(name))
    description = (description or "").strip() if isinstance(description, str) else ""
    if len(description) > 250:
        raise ValidationError({"description": [_("Ensure this value has at most %(max)d characters.") % {"max": 250}]})
    profile.description = description
    for flag in PROFILE_FLAGS:
        if flag in flags:
            setattr(profile, flag, bool(flags[flag]))
    if Profile.objects.filter(name__iexact=profile.name).exclude(pk=profile.pk).exists():
        raise ValidationError({"name": [_("A profile with this name already exists.")]})
    profile.save()
    _access_changed(
        actor, "profile_saved", profile.name, {"profile": profile.pk, **{f: getattr(profile, f) for f in PROFILE_FLAGS}}
    )
    return profile


@transaction.atomic
def profile_set_modules(*, actor: Member, profile: Profile, rights: dict[str, dict[str, bool]]) -> None:
    """Set a profile's actions per module: {"contacts": {"view": true, "create": false, ...}}.
    An action needs the module to be visible (no create, edit or delete without view)."""
    from crm_apps.engine import registry

    _require_admin(actor)
    known = {s.key for s in registry.all_specs()}
    unknown = sorted(set(rights) - known)
    if unknown:
        raise ValidationError({"modules": [_("Unknown module: %(name)s") % {"name": ", ".join(unknown)}]})
    for module, actions in rights.items():
        values = {a: bool(actions.get(a, False)) for a in ("view", "create", "edit", "delete")}
        if not values["view"]:
            values = dict.fromkeys(values, False)
        ProfileModule.objects.update_or_create(
            profile=profile, module=module, defaults={f"can_{a}": v for a, v in values.items()}
        )
    _access_changed(actor, "profile_modules_set", profile.name, {"profile": profile.pk, "rights": rights})


def profile_field_names(spec: Any) -> dict[str, bool]:
    """Fields of a module a profile may restrict: name -> whether the field is required (never hideable)."""
    from crm_apps.engine import metadata

    names: dict[str, bool] = {}
    for name in spec.form_fields:
        field = spec.model._meta.get_field(name)
        # A checkbox is never missing (unticked is a value), so it may be hidden or read-only.
        required = not getattr(field, "blank", True) and not isinstance(field, models.BooleanField)
        names[name] = required or name in spec.title_fields
    for cf in metadata.custom_fields(spec.key):
        names[f"custom.{cf.key}"] = bool(cf.required)
    # A child table is restricted as a whole (its key): hidden rows are not served, read-only rows not written.
    for child in getattr(spec, "children", ()):
        names[child.key] = child.min_rows > 0
    return names


@transaction.atomic
def profile_set_fields(*, actor: Member, profile: Profile, module: str, access: dict[str, str]) -> None:
    """Set a profile's field access in one module: name -> "hidden" | "readonly" | "readwrite".
    Required fields stay writable: records could not be created otherwise."""
    from crm_apps.engine import registry

    _require_admin(actor)
    try:
        spec = registry.get(module)
    except registry.UnknownModule as exc:
        raise ValidationError({"module": [_("Unknown module.")]}) from exc
    names = profile_field_names(spec)
    errors: dict[str, list[str]] = {}
    for name, value in access.items():
        if name not in names:
            errors[name] = [_("Unknown field.")]
        elif value not in ("hidden", "readonly", "readwrite"):
            errors[name] = [_("Choose hidden, read-only or read-write.")]
        elif value != "readwrite" and names[name]:
            errors[name] = [_("A required field cannot be hidden or read-only.")]
    if errors:
        raise ValidationError(errors)
    for name, value in access.items():
        if value == "readwrite":
            ProfileField.objects.filter(profile=profile, module=module, field=name).delete()
        else:
            ProfileField.objects.update_or_create(
                profile=profile, module=module, field=name, defaults={"access": value}
            )
    _access_changed(
        actor, "profile_fields_set", profile.name, {"profile": profile.pk, "module": module, "fields": access}
    )


@transaction.atomic
def profile_delete(*, actor: Member, profile: Profile) -> None:
    """Delete a profile that no role depends on as its only profile."""
    _require_admin(actor)
    for role in Role.objects.filter(profiles=profile).prefetch_related("profiles"):
        if len(role.profiles.all()) <= 1:
            raise ValidationError(
                {"profile": [_("The role “%(role)s” has no other profile; give it another first.") % {"role": role}]}
            )
    profile.delete()
    _access_changed(actor, "profile_deleted", profile.name, {})


def _ids(values: Iterable[Any]) -> set[int]:
    return {int(v) for v in values if str(v).isdecimal()}


@transaction.atomic
def group_save(
    *,
    actor: Member,
    group: Group | None,
    name: str,
    description: str = "",
    member_ids: Iterable[Any] = (),
    role_ids: Iterable[Any] = (),
    role_tree_ids: Iterable[Any] = (),
    subgroup_ids: Iterable[Any] = (),
) -> Group:
    """Create or change a group: its members, roles, roles with subordinates and nested groups
    (never itself, directly or through another group)."""
    _require_admin(actor)
    list(Group.objects.select_for_update().order_by("pk"))  # nesting is checked over all groups
    group = Group() if group is None else Group.objects.get(pk=group.pk)
    errors: dict[str, list[str]] = {}
    try:
        group.name = _renamed(group, _name_clean(name))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if Group.objects.filter(name__iexact=group.name).exclude(pk=group.pk).exists():
        errors["name"] = [_("A group with this name already exists.")]
    group.description = (description or "").strip()[:250] if isinstance(description, str) else ""
    members = list(Member.objects.filter(pk__in=_ids(member_ids), active=True))
    roles = list(Role.objects.filter(pk__in=_ids(role_ids)))
    trees = list(Role.objects.filter(pk__in=_ids(role_tree_ids)))
    subgroups = list(Group.objects.filter(pk__in=_ids(subgroup_ids)))
    if group.pk is not None:
        children: dict[int, set[int]] = {}
        for parent_id, child_id in Group.subgroups.through.objects.values_list("from_group_id", "to_group_id"):
            children.setdefault(parent_id, set()).add(child_id)
        children[group.pk] = {g.pk for g in subgroups}
        seen: set[int] = set()
        todo = list(children[group.pk])
        while todo:
            gid = todo.pop()
            if gid == group.pk:
                errors["subgroups"] = [_("A group cannot contain itself, directly or through another group.")]
                break
            if gid not in seen:
                seen.add(gid)
                todo.extend(children.get(gid, ()))
    if errors:
        raise ValidationError(errors)
    group.save()
    group.members.set(members)
    group.roles.set(roles)
    group.roles_with_subordinates.set(trees)
    group.subgroups.set(subgroups)
    _access_changed(
        actor,
        "group_saved",
        group.name,
        {
            "group": group.pk,
            "members": [m.pk for m in members],
            "roles": [r.name for r in roles],
            "role_trees": [r.name for r in trees],
            "groups": [g.name for g in subgroups],
        },
    )
    return group


@transaction.atomic
def group_delete(*, actor: Member, group: Group, transfer_to: Member) -> int:
    """Delete a group; the records it owns pass to `transfer_to` (an active member). Returns how many moved."""
    from crm_apps.engine import registry

    _require_admin(actor)
    if not transfer_to.active:
        raise ValidationError({"transfer_to": [_("Choose an active member.")]})
    moved = 0
    for spec in registry.all_specs():
        moved += spec.records().filter(owner_group=group).update(owner=transfer_to, owner_group=None)
    group.delete()
    _access_changed(actor, "group_deleted", group.name, {"records_moved_to": transfer_to.pk, "records": moved})
    return moved


@transaction.atomic
def sharing_default_set(
    *, actor: Member, module: str, access: str, superiors_see: bool = True, follow_parent: bool = True
) -> SharingDefault:
    """Set a module's organisation-wide default."""
    from crm_apps.engine import registry

    _require_admin(actor)
    try:
        registry.get(module)
    except registry.UnknownModule as exc:
        raise ValidationError({"module": [_("Unknown module.")]}) from exc
    if access not in SharingDefault.Access.values:
        raise ValidationError({"access": [_("Choose one of the available options.")]})
    default, _created = SharingDefault.objects.update_or_create(
        module=module,
        defaults={"access": access, "superiors_see": bool(superiors_see), "follow_parent": bool(follow_parent)},
    )
    _access_changed(
        actor,
        "sharing_default_set",
        module,
        {"access": access, "superiors_see": bool(superiors_see), "follow_parent": bool(follow_parent)},
    )
    return default


def _party(kind: str, party_id: Any, field: str) -> tuple[Role | None, Group | None]:
    if kind not in SharingRule.Kind.values:
        raise ValidationError({f"{field}_kind": [_("Choose role, role and subordinates, or group.")]})
    pk = int(party_id) if str(party_id).isdecimal() else None
    if kind == SharingRule.Kind.GROUP:
        group = Group.objects.filter(pk=pk).first() if pk else None
        if group is None:
            raise ValidationError({field: [_("Choose a group.")]})
        return None, group
    role = Role.objects.filter(pk=pk).first() if pk else None
    if role is None:
        raise ValidationError({field: [_("Choose a role.")]})
    return role, None


@transaction.atomic
def sharing_rule_create(
    *, actor: Member, module: str, source_kind: str, source_id: Any, target_kind: str, target_id: Any, access: str
) -> SharingRule:
    """Share the records of `module` owned by the source with the target, read-only or read/write."""
    from crm_apps.engine import registry

    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    try:
        registry.get(module)
    except registry.UnknownModule:
        errors["module"] = [_("Unknown module.")]
    parties: dict[str, tuple[Role | None, Group | None]] = {}
    for field, kind, pk in (("source", source_kind, source_id), ("target", target_kind, target_id)):
        try:
            parties[field] = _party(kind, pk, field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if access not in SharingRule.Access.values:
        errors["access"] = [_("Choose one of the available options.")]
    if errors:
        raise ValidationError(errors)
    rule = SharingRule.objects.create(
        module=module,
        source_kind=source_kind,
        source_role=parties["source"][0],
        source_group=parties["source"][1],
        target_kind=target_kind,
        target_role=parties["target"][0],
        target_group=parties["target"][1],
        access=access,
    )
    _access_changed(
        actor,
        "sharing_rule_created",
        module,
        {
            "rule": rule.pk,
            "source": [source_kind, str(source_id)],
            "target": [target_kind, str(target_id)],
            "access": access,
        },
    )
    return rule


@transaction.atomic
def sharing_rule_delete(*, actor: Member, rule: SharingRule) -> None:
    _require_admin(actor)
    rule_id = rule.pk
    rule.delete()
    _access_changed(actor, "sharing_rule_deleted", rule.module, {"rule": rule_id})


@transaction.atomic
def workspace_timezone_set(*, actor: Member, tenant: Tenant, name: str) -> Tenant:
    """A tenant admin sets the workspace's time zone (an IANA name): automation's schedules run on it."""
    require_tenant_admin(actor)
    name = (name or "").strip() if isinstance(name, str) else ""
    if name not in time_zone_names():
        raise ValidationError({"timezone": [_("Choose a time zone from the list (such as Europe/Riga).")]})
    before = tenant.timezone
    # The request's tenant is the routing cache's shared object: updated in the table, not in place.
    Tenant.objects.filter(pk=tenant.pk).update(timezone=name)
    if before != name:
        from tenants.runtime import domains_changed_on_commit

        domains_changed_on_commit()  # the tenant is cached with its domain: every process reloads it
        audit.audit_log(
            action=audit.SETTINGS_CHANGED, actor=actor, details={"setting": "timezone", "from": before, "to": name}
        )
    return tenant


MAX_SESSION_IDLE_MINUTES = 60 * 24 * 30


@transaction.atomic
def workspace_session_idle_set(*, actor: Member, tenant: Tenant, minutes: int) -> Tenant:
    """A tenant admin sets how long an idle member stays signed in (0: no idle limit)."""
    require_tenant_admin(actor)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= MAX_SESSION_IDLE_MINUTES:
        message = _("Enter a number of minutes from 0 to %(max)d.") % {"max": MAX_SESSION_IDLE_MINUTES}
        raise ValidationError({"session_idle_minutes": [message]})
    before = tenant.session_idle_minutes
    # The request's tenant is the routing cache's shared object: updated in the table, not in place.
    Tenant.objects.filter(pk=tenant.pk).update(session_idle_minutes=minutes)
    if before != minutes:
        from tenants.runtime import domains_changed_on_commit

        domains_changed_on_commit()  # the tenant is cached with its domain: every process reloads it
        audit.audit_log(
            action=audit.SETTINGS_CHANGED,
            actor=actor,
            details={"setting": "session_idle_minutes", "from": before, "to": minutes},
        )
    return tenant
