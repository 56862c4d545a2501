"""Campaign membership: which leads and contacts a campaign targets, and each one's status."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import metadata, registry
from crm_apps.modules.campaigns.models import Campaign, CampaignMember

MEMBER_STATUS_PICKLIST = "campaign_member_status"


def _status(value: str) -> str:
    value = (value or "").strip()
    if value and value not in {v.value for v in metadata.picklist_values(MEMBER_STATUS_PICKLIST)}:
        raise ValidationError({"status": [_("“%(value)s” is not one of the choices.") % {"value": value}]})
    return value


@transaction.atomic
def campaign_member_add(
    *, actor: Member, campaign: Campaign, module: str, record_id: Any, status: str = ""
) -> CampaignMember:
    """Target a visible lead or contact with a campaign (once)."""
    if module not in ("leads", "contacts"):
        raise ValidationError({"module": [_("Only leads and contacts can be campaign members.")]})
    spec = registry.get(module)
    qs = spec.model.objects.filter(pk=record_id, deleted_at__isnull=True)
    target = visibility.visible_records(actor=actor, spec=spec, queryset=qs).first()
    if target is None:
        raise ValidationError({"record": [_("Choose an existing record.")]})
    field = "lead" if module == "leads" else "contact"
    try:
        with transaction.atomic():
            return CampaignMember.objects.create(campaign=campaign, status=_status(status), **{field: target})
    except IntegrityError as exc:
        raise ValidationError({"record": [_("This record is already a member of the campaign.")]}) from exc


def campaign_member_set_status(*, actor: Member, membership: CampaignMember, status: str) -> CampaignMember:
    membership.status = _status(status)
    membership.save(update_fields=["status"])
    return membership


def campaign_member_remove(*, actor: Member, membership: CampaignMember) -> None:
    membership.delete()
