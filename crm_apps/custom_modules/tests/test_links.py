"""Record links (ADR 0015) on custom modules: comments and follows move with a merge, `record` references
from another module are repointed, purge takes the links, and a custom module's rows share one table
without ever mixing with another module's; plus the rule that keeps them apart in code."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from crm_apps.custom_modules.models import CustomRecord
from crm_apps.engine import services
from crm_apps.engine.models import Comment, Follow

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
EQUIPMENT = {"key": "equipment", "label": "Equipment", "plural": "Equipment", "fields": []}
JOBS = {
    "key": "service_jobs",
    "label": "Service job",
    "plural": "Service jobs",
    "fields": [{"key": "asset", "label": "Asset", "type": "record", "options": {"target": "equipment"}}],
}


@pytest.fixture
def api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_merge_moves_links_and_repoints_references_of_a_custom_module(api, tenant_a):
    # given two equipment records, the duplicate commented, followed and referenced by a service job
    assert post(api, "/api/v1/meta/modules", EQUIPMENT).status_code == 201
    assert post(api, "/api/v1/meta/modules", JOBS).status_code == 201
    keep = post(api, "/api/v1/equipment/", {"name": "Press"}).json()
    dupe = post(api, "/api/v1/equipment/", {"name": "Press (copy)"}).json()
    job = post(api, "/api/v1/service_jobs/", {"name": "Oil change", "custom": {"asset": dupe["id"]}}).json()
    assert post(api, f"/api/v1/equipment/{dupe['id']}/comments/", {"body": "Bought in 2019"}).status_code == 201
    assert api.put(f"/api/v1/equipment/{dupe['id']}/follow").json() == {"following": True}

    # when the duplicate is merged into the record kept
    merged = post(api, "/api/v1/equipment/merge", {"primary": keep["id"], "merge": [dupe["id"]]})

    # then the comment and the follow belong to the survivor and the job points at it, in a new version
    assert merged.status_code == 200, merged.json()
    comments = api.get(f"/api/v1/equipment/{keep['id']}/comments/").json()["results"]
    assert [c["body"] for c in comments] == ["Bought in 2019"]
    moved = api.get(f"/api/v1/service_jobs/{job['id']}/").json()
    assert moved["custom"]["asset"] == keep["id"]
    assert moved["version"] == job["version"] + 1
    with schema_context(tenant_a.schema_name):
        assert [str(pk) for pk in Follow.objects.filter(module="equipment").values_list("record_id", flat=True)] == [
            keep["id"]
        ]


def test_purge_takes_the_links_of_a_custom_module_and_leaves_the_other_modules_rows(api, tenant_a):
    # given a deleted equipment record with a comment, and a live job in another custom module
    post(api, "/api/v1/meta/modules", EQUIPMENT)
    post(api, "/api/v1/meta/modules", JOBS)
    gone = post(api, "/api/v1/equipment/", {"name": "Old press"}).json()
    job = post(api, "/api/v1/service_jobs/", {"name": "Inspection"}).json()
    post(api, f"/api/v1/equipment/{gone['id']}/comments/", {"body": "Scrapped"})
    assert api.delete(f"/api/v1/equipment/{gone['id']}/").status_code == 204

    # when the recycle bin is emptied of records deleted more than 30 days ago
    with schema_context(tenant_a.schema_name):
        CustomRecord.objects.filter(pk=gone["id"]).update(deleted_at=timezone.now() - dt.timedelta(days=31))
        purged = services.records_purge_deleted()

        # then the record and its comment are gone; the other module's record stays
        assert purged == {"equipment": 1}
        assert not CustomRecord.objects.filter(pk=gone["id"]).exists()
        assert not Comment.objects.filter(module="equipment").exists()
        assert CustomRecord.objects.filter(pk=job["id"], module_key="service_jobs").exists()


def test_no_code_starts_a_module_queryset_from_the_model_manager():
    # A custom module's model is shared by every custom module of the tenant: only `spec.records()` is
    # restricted to one module's rows (creating in bulk is fine: the records carry their scope).
    pattern = re.compile(r"\.model\.objects\.(?!bulk_create)")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in ("crm_apps", "marketplace", "billing")
        for path in (ROOT / package).rglob("*.py")
        if "tests" not in path.relative_to(ROOT).parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]

    assert offenders == []
