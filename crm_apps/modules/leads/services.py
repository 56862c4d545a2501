"""Lead behaviour: conversion into an organisation, a contact and optionally a deal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine import events as record_events
from crm_apps.engine import registry
from crm_apps.engine.models import Comment, TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.modules.leads.models import ConversionMapping, Lead

LEAD_ALREADY_CONVERTED = "LEAD_ALREADY_CONVERTED"


@dataclass(frozen=True)
class ConversionResult:
    organization: Any
    contact: Any
    deal: Any | None


def conversion_mapping_install() -> None:
    """vtiger's default lead conversion mapping, if the tenant has none yet."""
    from crm_apps.modules.leads.module import DEFAULT_MAPPING

    if not ConversionMapping.objects.exists():
        ConversionMapping.objects.bulk_create(
            [ConversionMapping(lead_field=lf, target=t, target_field=tf) for lf, t, tf in DEFAULT_MAPPING]
        )


def conversion_mapping_set(*, actor: Member, target: str, target_field: str, lead_field: str | None) -> None:
    """Admins map a lead field onto a target field (None removes the mapping)."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    if target not in ConversionMapping.Target.values:
        raise ValidationError({"target": [_("Unknown target module.")]})
    spec = registry.get(target)
    if target_field not in spec.form_fields:
        raise ValidationError({"target_field": [_("Unknown field.")]})
    old = (
        ConversionMapping.objects.filter(target=target, target_field=target_field)
        .values_list("lead_field", flat=True)
        .first()
    )
    if lead_field is None:
        with transaction.atomic():
            ConversionMapping.objects.filter(target=target, target_field=target_field).delete()
            _mapping_audit(actor, target, target_field, old, None)
        return
    if lead_field not in registry.get("leads").form_fields:
        raise ValidationError({"lead_field": [_("Unknown field.")]})
    source = Lead._meta.get_field(lead_field)
    destination = spec.model._meta.get_field(target_field)
    if isinstance(source, models.ForeignKey) != isinstance(destination, models.ForeignKey):
        raise ValidationError({"lead_field": [_("These fields hold different kinds of values.")]})
    with transaction.atomic():
        ConversionMapping.objects.update_or_create(
            target=target, target_field=target_field, defaults={"lead_field": lead_field}
        )
        _mapping_audit(actor, target, target_field, old, lead_field)


def _mapping_audit(actor: Member, target: str, target_field: str, old: str | None, new: str | None) -> None:
    if old != new:
        audit.audit_log(
            action=audit.SETTINGS_CHANGED,
            actor=actor,
            module="leads",
            changes={f"{target}.{target_field}": [old, new]},
            details={"setting": "conversion_mapping"},
        )


def _mapped(lead: Lead, target: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for row in ConversionMapping.objects.filter(target=target):
        value = getattr(lead, row.lead_field, None)
        if value not in (None, ""):
            data[row.target_field] = value
    return data


def _reuse(actor: Member, module: str, record_id: Any) -> Any:
    spec = registry.get(module)
    qs = spec.records().filter(pk=record_id, deleted_at__isnull=True)
    found = visibility.visible_records(actor=actor, spec=spec, queryset=qs).first()
    if found is None:
        raise ValidationError({module[:-1]: [_("Choose an existing record.")]})
    return found


@transaction.atomic
def lead_convert(
    *,
    actor: Member,
    lead: Lead,
    create_deal: bool = False,
    deal: dict[str, Any] | None = None,
    organization_id: Any = None,
    contact_id: Any = None,
    owner_id: Any = None,
) -> ConversionResult:
    """Turn a lead into an organisation (reused when one with the company's name exists or when chosen),
    a contact at it, and optionally a deal; all or nothing. The lead stays, marked converted, hidden
    from the default list, with links to what it became; its comments and campaigns move to the contact."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.converted:
        raise ValidationError(
            {"non_field_errors": [_("This lead has already been converted.")]}, code=LEAD_ALREADY_CONVERTED
        )
    if lead.deleted_at is not None:
        raise ValidationError({"non_field_errors": [_("This lead is in the recycle bin.")]})
    if not visibility.can_edit(actor=actor, spec=registry.get("leads"), record=lead):
        raise PermissionDenied
    if deal is not None and not isinstance(deal, dict):
        raise ValidationError({"deal": [_("Send an object of deal fields.")]})
    owner: dict[str, Any] = {"owner": owner_id} if owner_id else {"owner": lead.owner_id} if lead.owner_id else {}
    errors: dict[str, Any] = {}
    created: list[Any] = []

    def attempt(prefix: str, fn: Any) -> Any:
        try:
            record = fn()
            created.append(record)
            return record
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors[f"{prefix}.{key}"] = messages
            return None

    if organization_id:
        organization = _reuse(actor, "organizations", organization_id)
    else:
        organization = (
            registry.get("organizations")
            .records()
            .filter(name__iexact=lead.company, deleted_at__isnull=True)
            .order_by("created_at")
            .first()
        )
        if (
            organization is not None
            and not visibility.visible_records(
                actor=actor,
                spec=registry.get("organizations"),
                queryset=registry.get("organizations").records().filter(pk=organization.pk),
            ).exists()
        ):
            organization = None
        if organization is None:
            organization = attempt(
                "organization",
                lambda: record_create(
                    spec=registry.get("organizations"),
                    actor=actor,
                    data={**_mapped(lead, "organizations"), **owner},
                ),
            )
    if contact_id:
        contact = _reuse(actor, "contacts", contact_id)
    else:
        contact = attempt(
            "contact",
            lambda: record_create(
                spec=registry.get("contacts"),
                actor=actor,
                data={**_mapped(lead, "contacts"), "organization": organization, **owner},
            ),
        )
    new_deal = None
    if create_deal:
        data = {**_mapped(lead, "deals"), "organization": organization, "contact": contact, **owner}
        data.setdefault("close_date", (timezone.localdate() + dt.timedelta(days=30)).isoformat())
        data.update(deal or {})
        new_deal = attempt("deal", lambda: record_create(spec=registry.get("deals"), actor=actor, data=data))
    if errors:
        raise ValidationError(errors)
    for record in created:
        type(record).objects.filter(pk=record.pk).update(source_lead=lead)
    Comment.objects.filter(module="leads", record_id=lead.pk).update(module="contacts", record_id=contact.pk)
    from crm_apps.modules.campaigns.models import CampaignMember

    for membership in CampaignMember.objects.filter(lead=lead):
        if not CampaignMember.objects.filter(campaign_id=membership.campaign_id, contact=contact).exists():
            CampaignMember.objects.create(campaign_id=membership.campaign_id, contact=contact, status=membership.status)
    lead.converted = True
    lead.converted_at = timezone.now()
    lead.converted_organization = organization
    lead.converted_contact = contact
    lead.converted_deal = new_deal
    lead.version += 1
    lead.save(
        update_fields=[
            "converted",
            "converted_at",
            "converted_organization",
            "converted_contact",
            "converted_deal",
            "version",
        ]
    )
    record_events.record_event(module="leads", event=record_events.CONVERTED, record_ids=[lead.pk])
    TimelineEntry.objects.create(
        module="leads",
        record_id=lead.pk,
        kind=TimelineEntry.Kind.CONVERTED,
        actor=actor,
        data={
            "organization": str(organization.pk),
            "contact": str(contact.pk),
            "deal": str(new_deal.pk) if new_deal else None,
        },
    )
    audit.audit_log(
        action=audit.RECORD_UPDATED,
        actor=actor,
        module="leads",
        record_id=lead.pk,
        record_label=f"{lead.number} {lead}",
        changes={"converted": [False, True]},
        details={
            "organization": str(organization.pk),
            "contact": str(contact.pk),
            "deal": str(new_deal.pk) if new_deal else None,
        },
    )
    return ConversionResult(organization=organization, contact=contact, deal=new_deal)
