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
    assert f'<span data-member>Contact: <a href="/m/contacts/{contact.pk}/">Member</a></span>' in page
    assert f'<span data-member>Lead: <a href="/m/leads/{lead.pk}/">L</a></span>' in page
    web.post(f"{url}{membership.pk}/", {"remove": "1"})
    with tenant_context(tenant_a):
        assert CampaignMember.objects.count() == 1


def _campaign_with_member(tenant, actor):
    with tenant_context(tenant):
        campaign = record_create(
            spec=registry.get("campaigns"), actor=actor, data=dict(registry.get("campaigns").example)
        )
        contact = record_create(spec=registry.get("contacts"), actor=actor, data={"last_name": "Target"})
        membership = CampaignMember.objects.create(campaign=campaign, contact=contact)
    return campaign, contact, membership


def test_a_member_who_may_only_view_the_campaign_cannot_change_its_members(client_for, tenant_a, admin_of, member):
    from crm_apps.access.services import sharing_default_set

    admin = admin_of(tenant_a)
    campaign, contact, membership = _campaign_with_member(tenant_a, admin)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="campaigns", access="public_read")
        other = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Other"})
    viewer = client_for(tenant_a, member(tenant_a))
    url = f"/m/campaigns/{campaign.pk}/members/"

    page = viewer.get(f"/m/campaigns/{campaign.pk}/")
    added = viewer.post(url, {"module": "contacts", "record": other.pk})
    status = viewer.post(f"{url}{membership.pk}/", {"status": "Planned"})
    removed = viewer.post(f"{url}{membership.pk}/", {"remove": "1"})

    assert page.status_code == 200
    assert f'action="{url}"' not in page.content.decode()  # no forms for a viewer
    assert (added.status_code, status.status_code, removed.status_code) == (403, 403, 403)
    with tenant_context(tenant_a):
        assert list(CampaignMember.objects.values_list("contact_id", "status")) == [(contact.pk, "")]


def test_membership_changes_are_audited_and_on_the_campaign_timeline(client_for, tenant_a, admin_of):
    from crm_apps.audit.models import AuditEvent
    from crm_apps.engine.models import TimelineEntry

    admin = admin_of(tenant_a)
    campaign, contact, membership = _campaign_with_member(tenant_a, admin)
    with tenant_context(tenant_a):
        lead = record_create(spec=registry.get("leads"), actor=admin, data={"last_name": "Lee", "company": "C"})
    web = client_for(tenant_a, admin)
    url = f"/m/campaigns/{campaign.pk}/members/"

    web.post(url, {"module": "leads", "record": lead.pk})
    web.post(f"{url}{membership.pk}/", {"status": "Planned"})
    web.post(f"{url}{membership.pk}/", {"remove": "1"})

    with tenant_context(tenant_a):
        timeline = list(
            TimelineEntry.objects.filter(module="campaigns", record_id=campaign.pk, kind="related")
            .order_by("id")
            .values_list("data__change", "data__id", "data__status")
        )
        audit = list(
            AuditEvent.objects.filter(module="campaigns", record_id=str(campaign.pk), details__change__isnull=False)
            .order_by("id")
            .values_list("details__change", "changes")
        )
    assert timeline == [
        ("added", str(lead.pk), None),
        ("status", str(contact.pk), ["", "Planned"]),
        ("removed", str(contact.pk), None),
    ]
    assert audit == [
        ("added", {"members": [None, lead.number]}),
        ("status", {f"members.{contact.number}.status": ["", "Planned"]}),
        ("removed", {"members": [contact.number, None]}),
    ]
    page = web.get(f"/m/campaigns/{campaign.pk}/").content.decode()
    assert "Related record&#x27;s status: — → Planned" in page
    assert "Related record removed" in page


def test_members_of_a_record_the_actor_cannot_see_cannot_be_changed(tenant_a, admin_of, member):
    from django.core.exceptions import PermissionDenied

    from crm_apps.access.services import sharing_default_set
    from crm_apps.modules.campaigns.services import campaign_member_remove

    admin = admin_of(tenant_a)
    _campaign, _contact, membership = _campaign_with_member(tenant_a, admin)
    seller = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="contacts", access="private")
        with pytest.raises(PermissionDenied):
            campaign_member_remove(actor=seller, membership=membership)
        assert CampaignMember.objects.filter(pk=membership.pk).exists()
