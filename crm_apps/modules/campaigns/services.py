"""Campaign membership: which leads and contacts a campaign targets, and each one's status.

Membership is part of the campaign: changing it needs `can_edit` on the campaign, and the lead or
contact must be visible to the actor. Every change is audited and written to the campaign's timeline
(as a "related record" entry, so members who cannot see the lead or contact do not see its name)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.engine import metadata, registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.modules.campaigns.models import Campaign, CampaignMember

MEMBER_STATUS_PICKLIST = "campaign_member_status"
MEMBER_MODULES = ("leads", "contacts")


def _status(value: str) -> str:
    value = (value or "").strip()
    if value and value not in {v.value for v in metadata.picklist_values(MEMBER_STATUS_PICKLIST)}:
        raise ValidationError({"status": [_("“%(value)s” is not one of the choices.") % {"value": value}]})
    return value


def _campaign_spec() -> Any:
    from crm_apps.modules.campaigns.module import SPEC

    return SPEC


def _check_can_edit(actor: Member, campaign: Campaign) -> None:
    if not visibility.can_edit(actor=actor, spec=_campaign_spec(), record=campaign):
        raise PermissionDenied


def _visible_target(actor: Member, membership: CampaignMember) -> tuple[str, Any]:
    """The membership's lead or contact, if the actor may see it (else PermissionDenied)."""
    module = "leads" if membership.lead_id else "contacts"
    spec = registry.get(module)
    pk = membership.lead_id or membership.contact_id
    target = visibility.visible_records(
        actor=actor, spec=spec, queryset=spec.records().filter(pk=pk, deleted_at__isnull=True)
    ).first()
    if target is None:
        raise PermissionDenied
    return module, target


def _record_change(
    *, actor: Member, campaign: Campaign, module: str, target: Any, change: str, status: tuple[str, str] | None = None
) -> None:
    """One timeline entry on the campaign and one audit event for a membership change."""
    data: dict[str, Any] = {
        "module": module,
        "id": str(target.pk),
        "label": str(target),
        "number": target.number,
        "change": change,
    }
    if status is not None:
        data["status"] = list(status)
    TimelineEntry.objects.create(
        module="campaigns", record_id=campaign.pk, kind=TimelineEntry.Kind.RELATED, actor=actor, data=data
    )
    audit.audit_log(
        action=audit.RECORD_UPDATED,
        actor=actor,
        module="campaigns",
        record_id=campaign.pk,
        record_label=f"{campaign.number} {campaign}",
        changes={"members": [None, f"{target.number}"]}
        if change == "added"
        else {"members": [f"{target.number}", None]}
        if change == "removed"
        else {f"members.{target.number}.status": list(status or ("", ""))},
        details={"member_module": module, "member_id": str(target.pk), "change": change},
    )


@transaction.atomic
def campaign_member_add(
    *, actor: Member, campaign: Campaign, module: str, record_id: Any, status: str = ""
) -> CampaignMember:
    """Target a visible lead or contact with a campaign the actor may edit (once)."""
    _check_can_edit(actor, campaign)
    if module not in MEMBER_MODULES:
        raise ValidationError({"module": [_("Only leads and contacts can be campaign members.")]})
    spec = registry.get(module)
    try:
        qs = spec.records().filter(pk=record_id, deleted_at__isnull=True)
        target = visibility.visible_records(actor=actor, spec=spec, queryset=qs).first()
    except (ValidationError, ValueError):  # not an id at all
        target = None
    if target is None:
        raise ValidationError({"record": [_("Choose an existing record.")]})
    field = "lead" if module == "leads" else "contact"
    try:
        with transaction.atomic():
            membership = CampaignMember.objects.create(campaign=campaign, status=_status(status), **{field: target})
    except IntegrityError as exc:
        raise ValidationError({"record": [_("This record is already a member of the campaign.")]}) from exc
    _record_change(actor=actor, campaign=campaign, module=module, target=target, change="added")
    return membership


@transaction.atomic
def campaign_member_set_status(*, actor: Member, membership: CampaignMember, status: str) -> CampaignMember:
    """Set a member's status in the campaign (a value of the campaign member status picklist)."""
    _check_can_edit(actor, membership.campaign)
    module, target = _visible_target(actor, membership)
    old, new = membership.status, _status(status)
    if old == new:
        return membership
    membership.status = new
    membership.save(update_fields=["status"])
    _record_change(
        actor=actor, campaign=membership.campaign, module=module, target=target, change="status", status=(old, new)
    )
    return membership


@transaction.atomic
def campaign_member_remove(*, actor: Member, membership: CampaignMember) -> None:
    """Stop targeting a lead or contact with the campaign."""
    _check_can_edit(actor, membership.campaign)
    module, target = _visible_target(actor, membership)
    campaign = membership.campaign
    membership.delete()
    _record_change(actor=actor, campaign=campaign, module=module, target=target, change="removed")
