"""The campaign members panel on a campaign's page (ModuleSpec.panels)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import metadata, registry
from crm_apps.engine.display import record_url
from crm_apps.modules.campaigns.models import Campaign, CampaignMember
from crm_apps.modules.campaigns.services import MEMBER_MODULES, MEMBER_STATUS_PICKLIST


def members_panel(campaign: Campaign, member: Member, request: HttpRequest) -> dict[str, Any]:
    """The first hundred members the viewer may see, their statuses, and what can be added."""
    leads, contacts = registry.get("leads"), registry.get("contacts")
    visible_leads = visibility.visible_records(actor=member, spec=leads, queryset=leads.records())
    visible_contacts = visibility.visible_records(actor=member, spec=contacts, queryset=contacts.records())
    memberships = (
        CampaignMember.objects.filter(campaign=campaign)
        .filter(Q(lead__isnull=True) | Q(lead__in=visible_leads.values("pk")))
        .filter(Q(contact__isnull=True) | Q(contact__in=visible_contacts.values("pk")))
        .exclude(lead__deleted_at__isnull=False)
        .exclude(contact__deleted_at__isnull=False)
        .select_related("lead", "contact")[:100]
    )
    return {
        "members": [
            (m, m.lead or m.contact, record_url(leads if m.lead_id else contacts, m.lead or m.contact))
            for m in memberships
        ],
        "statuses": metadata.picklist_values(MEMBER_STATUS_PICKLIST),
        "modules": [(key, registry.get(key).label) for key in reversed(MEMBER_MODULES)],
    }
