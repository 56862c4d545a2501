"""The tenant's telephony settings and members' extensions: read (memoised per metadata version) and written."""

from __future__ import annotations

import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm_apps.access.decorators import may_administer
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import metadata
from crm_apps.modules.calls.models import TelephonyMember, TelephonySettings
from crm_apps.modules.calls.phones import region_valid

NUMBER_PLACEHOLDER = "{number}"


def telephony_settings() -> TelephonySettings:
    """The tenant's settings row (defaults when none was saved); shared, never modify it."""

    def load() -> TelephonySettings:
        return TelephonySettings.objects.order_by("pk").first() or TelephonySettings()

    return metadata.memoised(("calls", "telephony_settings"), load)


def _settings_for_update() -> TelephonySettings:
    found = TelephonySettings.objects.select_for_update().order_by("pk").first()
    return found or TelephonySettings.objects.create()


def _require_admin(actor: Member) -> None:
    if not may_administer(actor, Privilege.MANAGE_SETTINGS):
        raise PermissionDenied


@transaction.atomic
def telephony_settings_update(*, actor: Member, default_region: str, click_to_call_template: str) -> TelephonySettings:
    """An administrator sets the default region (numbers without a country code) and the click-to-call URL;
    a new region re-normalises every indexed phone number."""
    _require_admin(actor)
    region = (default_region or "").strip().upper()
    template = (click_to_call_template or "").strip()
    errors: dict[str, list[str]] = {}
    if not region_valid(region):
        errors["default_region"] = [_("Enter a two-letter country code such as US, DE or GB.")]
    if NUMBER_PLACEHOLDER not in template:
        errors["click_to_call_template"] = [_("The URL must contain {number}.")]
    elif template.split(":", 1)[0].lower() not in {"tel", "callto", "sip", "https", "http"}:
        errors["click_to_call_template"] = [_("Use a tel:, callto:, sip:, https: or http: URL.")]
    if errors:
        raise ValidationError(errors)
    row = _settings_for_update()
    region_changed = row.default_region != region
    row.default_region = region
    row.click_to_call_template = template
    row.save()
    metadata.metadata_changed()
    if region_changed:
        from crm_apps.modules.calls.phone_index import phone_index_rebuild

        phone_index_rebuild(region=region)
    return row


@transaction.atomic
def telephony_secret_rotate(*, actor: Member) -> str:
    """An administrator creates a new webhook secret; the previous one stops working at once."""
    _require_admin(actor)
    row = _settings_for_update()
    row.webhook_secret = secrets.token_hex(32)
    row.save(update_fields=["webhook_secret", "updated_at"])
    metadata.metadata_changed()
    return row.webhook_secret


@transaction.atomic
def telephony_member_set(*, actor: Member, member: Member, extension: str) -> TelephonyMember | None:
    """An administrator gives a member the PBX extension that rings for them ("" removes it)."""
    _require_admin(actor)
    extension = (extension or "").strip()
    if not extension:
        TelephonyMember.objects.filter(member=member).delete()
        return None
    if len(extension) > 40 or not extension.replace("-", "").replace("*", "").isalnum():
        raise ValidationError({"extension": [_("Use letters, digits, * and - only (at most 40).")]})
    if TelephonyMember.objects.filter(extension=extension).exclude(member=member).exists():
        raise ValidationError({"extension": [_("Another member already has this extension.")]})
    row, _created = TelephonyMember.objects.update_or_create(member=member, defaults={"extension": extension})
    return row
