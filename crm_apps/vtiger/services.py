"""Access keys: one per member, readable by the member (vtiger shows it), rotatable; rotation ends the
member's webservice sessions. Audited."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.vtiger.models import AccessKey

KEY_LENGTH = 24  # characters of [A-Za-z0-9]; vtiger's own keys are 16


def _new_key() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(KEY_LENGTH))


def access_key_get(*, member: Member) -> AccessKey:
    """The member's access key, made on first use."""
    found = AccessKey.objects.filter(member=member).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return AccessKey.objects.create(member=member, key=_new_key())
    except IntegrityError:  # made by a concurrent request
        return AccessKey.objects.get(member=member)


@transaction.atomic
def access_key_rotate(*, member: Member) -> AccessKey:
    """Replace the member's access key: integrations using the old one stop working, open sessions end."""
    current = access_key_get(member=member)
    current = AccessKey.objects.select_for_update().get(pk=current.pk)
    current.key = _new_key()
    current.rotated_at = timezone.now()
    current.generation += 1
    current.save(update_fields=["key", "rotated_at", "generation"])
    audit.audit_log(action=audit.SETTINGS_CHANGED, actor=member, details={"setting": "vtiger_access_key_rotated"})
    return current


def me_access_key(member: Member) -> str:
    """`GET /api/v1/me`'s `access_key` (the member's own)."""
    return access_key_get(member=member).key
