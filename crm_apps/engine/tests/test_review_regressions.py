"""Regressions found by a second reading of the engine: each test pins one fixed behaviour."""

from __future__ import annotations

import csv
import io

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import custom_field_create, record_create, record_delete, record_restore

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def make(tenant, actor, module, **data):
    with tenant_context(tenant):
        return record_create(spec=registry.get(module), actor=actor, data={**registry.get(module).example, **data})


def test_nullable_and_reference_columns_cannot_be_sorted(api):
    for ordering in ("amount", "-amount", "organization", "close_date"):
        response = api.get(f"/api/v1/deals/?ordering={ordering}")
        if ordering == "close_date":
            assert response.status_code == 200
        else:
            assert response.status_code == 400, ordering


@pytest.mark.parametrize("cursor", ["WyJuIiwgImdhcmJhZ2UiLCAiZ2FyYmFnZSJd", "WyJuIiwgW10sIHt9XQ==", "bnVsbA=="])
def test_malformed_cursors_are_400_in_the_api_and_a_message_in_the_ui(api, client_for, tenant_a, admin_of, cursor):
    web = client_for(tenant_a, admin_of(tenant_a))

    assert api.get(f"/api/v1/contacts/?cursor={cursor}").status_code == 400
    page = web.get(f"/m/contacts/?cursor={cursor}")
    assert page.status_code == 200
    assert "cursor" in page.content.decode()


def test_lone_surrogates_and_nul_in_json_are_field_errors(api):
    response = api.post(
        "/api/v1/contacts/",
        {"last_name": "ok", "first_name": "bad\ud800", "custom": {"x": "a\x00b"}},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"first_name", "custom.x"}


def test_deals_filter_by_pipeline_and_stage(api, tenant_a, admin_of):
    deal = make(tenant_a, admin_of(tenant_a), "deals")

    by_pipeline = api.get(f"/api/v1/deals/?pipeline={deal.pipeline_id}").json()["results"]
    by_stage = api.get(f"/api/v1/deals/?stage={deal.stage_id}").json()["results"]

    assert [r["id"] for r in by_pipeline] == [str(deal.pk)]
    assert [r["id"] for r in by_stage] == [str(deal.pk)]


def test_a_record_pointing_at_a_deleted_record_can_still_be_edited(api, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    org = make(tenant_a, actor, "organizations")
    contact = make(tenant_a, actor, "contacts", organization=str(org.pk))
    with tenant_context(tenant_a):
        record_delete(spec=registry.get("organizations"), actor=actor, record=org)

    response = api.patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"organization": str(org.pk), "title": "CFO"},
        content_type="application/json",
    )
    detail = api.get(f"/m/contacts/{contact.pk}/")

    assert response.status_code == 200
    assert "(in the recycle bin)" in detail.content.decode()
    assert detail.status_code == 200


def test_text_fields_refuse_lists_and_objects(api):
    response = api.post("/api/v1/contacts/", {"last_name": ["a"]}, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"last_name": ["Enter a single value."]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "contains", "label": "C", "type": "text"}, "key"),
        ({"key": "a__b", "label": "C", "type": "text"}, "key"),
        ({"key": 5, "label": "C", "type": "text"}, "key"),
        ({"key": "x", "label": 5, "type": "text"}, "label"),
        ({"key": "x", "label": "X", "type": "text", "options": {"max_length": "abc"}}, "options"),
        ({"key": "x", "label": "X", "type": "record", "options": {"target": ["contacts"]}}, "options"),
        ({"key": "x", "label": "X", "type": "integer", "options": {"colour": 1}}, "options"),
    ],
)
def test_custom_field_definitions_reject_junk(api, body, field):
    response = api.post("/api/v1/meta/modules/vendors/fields", body, content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()


def test_restoring_a_record_whose_unique_value_was_reused_is_refused(tenant_a, admin_of):
    from django.core.exceptions import ValidationError

    actor = admin_of(tenant_a)
    spec = registry.get("vendors")
    with tenant_context(tenant_a):
        custom_field_create(actor=actor, spec=spec, key="vat", label="VAT", type="text", unique=True)
        first = record_create(spec=spec, actor=actor, data={"name": "A"}, custom={"vat": "EU1"})
        record_delete(spec=spec, actor=actor, record=first)
        record_create(spec=spec, actor=actor, data={"name": "B"}, custom={"vat": "EU1"})
        with pytest.raises(ValidationError) as clash:
            record_restore(spec=spec, actor=actor, record_id=first.pk)
        assert "custom.vat" in clash.value.message_dict
        assert spec.model.objects.get(pk=first.pk).deleted_at is not None


def test_merge_moves_campaign_members_and_stage_history_and_never_self_references(api, tenant_a, admin_of):
    from crm_apps.modules.campaigns.models import CampaignMember
    from crm_apps.modules.deals.models import StageHistory

    actor = admin_of(tenant_a)
    campaign = make(tenant_a, actor, "campaigns")
    keep = make(tenant_a, actor, "contacts", last_name="Keep")
    dupe = make(tenant_a, actor, "contacts", last_name="Dupe")
    with tenant_context(tenant_a):
        CampaignMember.objects.create(campaign=campaign, contact=keep, status="")
        CampaignMember.objects.create(campaign=campaign, contact=dupe, status="Planned")
        registry.get("contacts").model.objects.filter(pk=keep.pk).update(reports_to=dupe)
    deal_keep = make(tenant_a, actor, "deals", name="K")
    deal_dupe = make(tenant_a, actor, "deals", name="D")

    api.post(
        "/api/v1/contacts/merge", {"primary": str(keep.pk), "merge": [str(dupe.pk)]}, content_type="application/json"
    )
    api.post(
        "/api/v1/deals/merge",
        {"primary": str(deal_keep.pk), "merge": [str(deal_dupe.pk)]},
        content_type="application/json",
    )

    with tenant_context(tenant_a):
        assert list(CampaignMember.objects.values_list("contact_id", flat=True)) == [keep.pk]
        assert registry.get("contacts").model.objects.get(pk=keep.pk).reports_to_id is None
        assert set(StageHistory.objects.values_list("deal_id", flat=True)) == {deal_keep.pk}


def test_exports_cannot_carry_formulas_or_control_characters(client_for, tenant_a, admin_of):
    from openpyxl import load_workbook

    actor = admin_of(tenant_a)
    make(tenant_a, actor, "vendors", name='=HYPERLINK("http://evil")\x01')
    web = client_for(tenant_a, actor)

    rows = list(
        csv.reader(io.StringIO(b"".join(web.get("/m/vendors/export.csv").streaming_content).decode("utf-8-sig")))
    )
    sheet = load_workbook(io.BytesIO(web.get("/m/vendors/export.xlsx").content)).active

    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert list(sheet.values)[1][1] == '\'=HYPERLINK("http://evil")'


def test_mass_change_owner_to_a_group_and_back(client_for, tenant_a, admin_of):
    from crm_apps.access.models import Group

    actor = admin_of(tenant_a)
    org = make(tenant_a, actor, "organizations")
    with tenant_context(tenant_a):
        group = Group.objects.create(name="Team")
    web = client_for(tenant_a, actor)

    web.post("/m/organizations/mass/", {"ids": [org.pk], "action": "owner", "owner": f"g:{group.pk}"})
    with tenant_context(tenant_a):
        assert registry.get("organizations").model.objects.filter(pk=org.pk, owner=None, owner_group=group).exists()
    web.post("/m/organizations/mass/", {"ids": [org.pk], "action": "owner", "owner": f"m:{actor.pk}"})
    with tenant_context(tenant_a):
        assert registry.get("organizations").model.objects.filter(pk=org.pk, owner=actor, owner_group=None).exists()


def test_stale_version_values_are_400(api, tenant_a, admin_of):
    record = make(tenant_a, admin_of(tenant_a), "vendors")

    for version in (True, 10**30, "abc"):
        response = api.patch(
            f"/api/v1/vendors/{record.pk}/", {"name": "X", "version": version}, content_type="application/json"
        )
        assert response.status_code == 400, version


def test_purge_removes_campaign_memberships_and_unlinks_references(tenant_a, admin_of):
    from datetime import timedelta

    from django.utils import timezone

    from crm_apps.engine.services import records_purge_deleted
    from crm_apps.modules.campaigns.models import CampaignMember

    actor = admin_of(tenant_a)
    campaign = make(tenant_a, actor, "campaigns")
    contact = make(tenant_a, actor, "contacts")
    deal = make(tenant_a, actor, "deals", contact=str(contact.pk))
    with tenant_context(tenant_a):
        CampaignMember.objects.create(campaign=campaign, contact=contact)
        record_delete(spec=registry.get("contacts"), actor=actor, record=contact)
        registry.get("contacts").model.objects.filter(pk=contact.pk).update(
            deleted_at=timezone.now() - timedelta(days=40)
        )

        assert records_purge_deleted() == {"contacts": 1}
        assert not CampaignMember.objects.exists()
        assert registry.get("deals").model.objects.get(pk=deal.pk).contact_id is None
