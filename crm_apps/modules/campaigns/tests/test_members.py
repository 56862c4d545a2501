from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.campaigns.models import CampaignMember

pytestmark = pytest.mark.django_db


def test_add_members_set_status_and_remove(client_for, tenant_a, tenant_b, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        campaign = record_create(
            spec=registry.get("campaigns"), actor=actor, data=dict(registry.get("campaigns").example)
        )
        contact = record_create(spec=registry.get("contacts"), actor=actor, data={"last_name": "Member"})
        lead = record_create(spec=registry.get("leads"), actor=actor, data={"last_name": "L", "company": "C"})
    with tenant_context(tenant_b):
        foreign = record_create(spec=registry.get("contacts"), actor=admin_of(tenant_b), data={"last_name": "Other"})
    web = client_for(tenant_a, actor)
    url = f"/m/campaigns/{campaign.pk}/members/"

    web.post(url, {"module": "contacts", "record": contact.pk})
    web.post(url, {"module": "leads", "record": lead.pk, "status": "Planned"})
    twice = web.post(url, {"module": "contacts", "record": contact.pk}, follow=True)
    web.post(url, {"module": "contacts", "record": foreign.pk})
    web.post(url, {"module": "contacts", "record": contact.pk, "status": "Made up"})

    with tenant_context(tenant_a):
        members = {(m.contact_id, m.lead_id, m.status) for m in CampaignMember.objects.all()}
        assert members == {(contact.pk, None, ""), (None, lead.pk, "Planned")}
        membership = CampaignMember.objects.get(contact=contact)
    assert "already a member" in twice.content.decode()
    web.post(f"{url}{membership.pk}/", {"status": "Contacted - Successful"})
    with tenant_context(tenant_a):
        assert CampaignMember.objects.get(pk=membership.pk).status == "Contacted - Successful"
    page = web.get(f"/m/campaigns/{campaign.pk}/").content.decode()
    assert "Member" in page
    web.post(f"{url}{membership.pk}/", {"remove": "1"})
    with tenant_context(tenant_a):
        assert CampaignMember.objects.count() == 1
