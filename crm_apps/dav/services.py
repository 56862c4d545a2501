"""App passwords: created, listed, revoked and checked; and the snapshots behind sync tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.dav.models import AppPassword, SyncState
from tenants.models import normalize_email

APP_PASSWORDS_PER_MEMBER = 20
SYNC_STATES_KEPT = 20
PREFIX_LEN = 4


def _hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _audit(action: str, member: Member, app_password: AppPassword) -> None:
    """Name and the public prefix only: the password itself is never logged."""
    audit.audit_log(
        action=action,
        actor=member,
        record_id=app_password.pk,
        record_label=app_password.name,
        details={"kind": "app_password", "prefix": app_password.prefix},
    )


def app_password_create(*, member: Member, name: str) -> tuple[AppPassword, str]:
    """A new password for one client of `member`; returned once, only its hash is kept."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Name the device or program, e.g. “Phone”.")]})
    if len(name) > 100:
        raise ValidationError({"name": [_("Ensure this value has at most %(max)d characters.") % {"max": 100}]})
    # Four groups of four letters and digits: easy to type on a phone, 80 bits of entropy.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    password = "-".join("".join(secrets.choice(alphabet) for _i in range(4)) for _g in range(4))
    with transaction.atomic():
        Member.objects.select_for_update().filter(pk=member.pk).first()
        if AppPassword.objects.filter(member=member).count() >= APP_PASSWORDS_PER_MEMBER:
            raise ValidationError(
                {
                    "name": [
                        _("You have %(n)d app passwords already; revoke some first.") % {"n": APP_PASSWORDS_PER_MEMBER}
                    ]
                }
            )
        app_password = AppPassword.objects.create(
            member=member, name=name, prefix=password[:PREFIX_LEN], key_hash=_hash(password)
        )
        _audit(audit.TOKEN_CREATED, member, app_password)
    return app_password, password


def app_password_list(*, member: Member) -> list[AppPassword]:
    """The member's own app passwords, newest first (never anyone else's)."""
    return list(AppPassword.objects.filter(member=member))


def app_password_revoke(*, member: Member, app_password_id: int) -> bool:
    """A member revokes one of their own app passwords; False when no such password is theirs."""
    with transaction.atomic():
        found = AppPassword.objects.select_for_update().filter(member=member, pk=app_password_id).first()
        if found is None:
            return False
        _audit(audit.TOKEN_REVOKED, member, found)
        found.delete()
    return True


def app_password_authenticate(*, email: str, password: str) -> Member | None:
    """The active member of this tenant whose email and app password these are; None otherwise. An account
    password is never accepted here."""
    if not password or not email:
        return None
    found = (
        AppPassword.objects.select_related("member", "member__user")
        .filter(key_hash=_hash(password), member__active=True, member__user__is_active=True)
        .order_by()[:1]
    )
    app_password = next(iter(found), None)
    if app_password is None or normalize_email(app_password.member.user.email) != normalize_email(email):
        return None
    now = timezone.now()
    if app_password.last_used_at is None or now - app_password.last_used_at > timedelta(minutes=1):
        AppPassword.objects.filter(pk=app_password.pk).update(last_used_at=now)
    return app_password.member


def sync_state_save(*, member: Member, collection: str, token: str, etags: dict[str, str]) -> None:
    """Remember what the collection held under `token`; keep the newest few states only."""
    _state, created = SyncState.objects.get_or_create(
        member=member, collection=collection, token=token, defaults={"etags": etags}
    )
    if not created:
        return
    old = SyncState.objects.filter(member=member, collection=collection).order_by("-created_at")[SYNC_STATES_KEPT:]
    SyncState.objects.filter(pk__in=list(old.values_list("pk", flat=True))).delete()


def sync_state_get(*, member: Member, collection: str, token: str) -> dict[str, str] | None:
    """The snapshot behind a token this member was given; None for an unknown or expired token."""
    state = SyncState.objects.filter(member=member, collection=collection, token=token).only("etags").first()
    return None if state is None else dict(state.etags)
