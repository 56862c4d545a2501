"""The reports API: definition CRUD with field errors, saved and ad-hoc runs, sharing, duplicate, exports
that match the screen, and refusal across tenants and to members a report is not shared with."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from conftest import host_of
from crm_apps.access.services import api_token_create
from crm_apps.engine import registry
from crm_apps.engine.models import Currency
from crm_apps.engine.services import record_create
from crm_apps.reports.models import Report

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")
SUMMARY = {
    "module": "deals",
    "type": "summary",
    "group_by": ["stage"],
    "aggregates": [{"field": "amount", "op": "sum"}, {"op": "count"}],
}


def api_for(tenant, member):
    with tenant_context(tenant):
        token = api_token_create(member=member, name="reports")[1]
    return Client(HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Token {token}")


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


@pytest.fixture
def api(tenant_a, admin):
    return api_for(tenant_a, admin)


@pytest.fixture
def deals(tenant_a, admin):
    with tenant_context(tenant_a):
        Currency.objects.create(code="USD", rate=1, is_base=True)
        Currency.objects.create(code="EUR", rate=Decimal("1.1"))
        for amount, code in (("100", "USD"), ("200", "EUR"), ("3.33", "USD")):
            record_create(
                spec=DEALS,
                actor=admin,
                data={"name": "D", "close_date": "2027-01-01", "amount": amount, "currency": code},
            )


def test_adhoc_run_answers_the_contract(api, deals):
    response = post(api, "/api/v1/reports/run", SUMMARY)
    body = response.json()
    assert response.status_code == 200, body
    assert {"columns", "rows", "groups", "totals"} <= set(body)
    assert body["totals"] == {"sum_amount": "323.33", "count": 3}
    assert "USD" in body["meta"]["currency"]["note"]


def test_bad_definition_is_400_with_field_errors(api):
    response = post(api, "/api/v1/reports/run", {"module": "deals", "type": "summary", "group_by": ["amount:week"]})
    assert response.status_code == 400
    assert "group_by.0" in json.dumps(response.json())
    assert post(api, "/api/v1/reports/run", ["not", "an", "object"]).status_code == 400


def test_crud_run_duplicate_and_export_match_the_screen(api, deals, tenant_a):
    created = post(api, "/api/v1/reports/", {"name": "Pipeline", "definition": SUMMARY, "sharing": "shared"})
    assert created.status_code == 201, created.json()
    report_id = created.json()["id"]
    bad = post(api, "/api/v1/reports/", {"name": "", "definition": {"module": "nope"}})
    assert bad.status_code == 400 and {"name", "definition.module"} <= set(bad.json().get("errors", bad.json()))

    screen = api.get(f"/api/v1/reports/{report_id}/run").json()
    exported = api.get(f"/api/v1/reports/{report_id}/export.csv")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == [c["label"] for c in screen["columns"]]
    assert rows[1] == [
        screen["rows"][0]["stage"]["label"],
        screen["rows"][0]["sum_amount"],
        str(screen["rows"][0]["count"]),
    ]
    assert rows[-1][1:] == [screen["totals"]["sum_amount"], str(screen["totals"]["count"])]
    xlsx = api.get(f"/api/v1/reports/{report_id}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [[c.value or "" for c in r] for r in sheet.iter_rows()] == rows
    pdf = api.get(f"/api/v1/reports/{report_id}/export.pdf")
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert screen["totals"]["sum_amount"] in text

    copy = post(api, f"/api/v1/reports/{report_id}/duplicate", {})
    assert copy.status_code == 201 and copy.json()["name"] == "Copy of Pipeline" and copy.json()["sharing"] == "private"
    changed = api.patch(
        f"/api/v1/reports/{report_id}", json.dumps({"name": "Renamed"}), content_type="application/json"
    )
    assert changed.json()["name"] == "Renamed"
    assert api.delete(f"/api/v1/reports/{report_id}").status_code == 204
    with tenant_context(tenant_a):
        assert not Report.objects.filter(pk=report_id).exists()


def test_private_reports_are_not_found_for_others_and_shared_ones_run_with_their_own_rights(
    api, deals, tenant_a, admin, member
):
    other = member(tenant_a)
    other_api = api_for(tenant_a, other)
    private = post(api, "/api/v1/reports/", {"name": "Mine", "definition": SUMMARY}).json()["id"]
    shared = post(
        api,
        "/api/v1/reports/",
        {"name": "Team", "definition": SUMMARY, "sharing": "shared", "shared_members": [other.pk]},
    ).json()["id"]
    assert other_api.get(f"/api/v1/reports/{private}/run").status_code == 404
    assert other_api.get(f"/api/v1/reports/{private}/export.csv").status_code == 404
    assert other_api.get(f"/api/v1/reports/{shared}/run").status_code == 200
    assert other_api.delete(f"/api/v1/reports/{shared}").status_code == 403
    listed = [r["id"] for r in other_api.get("/api/v1/reports/").json()["results"]]
    assert listed == [shared]


def test_report_ids_of_another_tenant_are_refused(api, deals, tenant_b, admin_of):
    report_id = post(api, "/api/v1/reports/", {"name": "Alpha only", "definition": SUMMARY}).json()["id"]
    beta = api_for(tenant_b, admin_of(tenant_b))
    assert beta.get(f"/api/v1/reports/{report_id}/run").status_code == 404
    assert beta.get(f"/api/v1/reports/{report_id}/export.xlsx").status_code == 404
    assert beta.get(f"/api/v1/reports/{report_id}").status_code == 404
    totals = post(beta, "/api/v1/reports/run", SUMMARY).json()["totals"]
    assert totals["count"] == 0
    # The alpha token is no key to beta's host either.
    alpha_token_on_beta = Client(HTTP_HOST=host_of(tenant_b), HTTP_AUTHORIZATION=api.defaults["HTTP_AUTHORIZATION"])
    assert alpha_token_on_beta.get(f"/api/v1/reports/{report_id}/run").status_code in (401, 403)


def test_field_catalogue_leaves_out_hidden_fields(api):
    body = api.get("/api/v1/reports/fields?module=deals").json()
    paths = {f["path"] for f in body["fields"]}
    assert {"amount", "stage", "close_date", "organization.industry", "organization.parent.name"} <= paths
    assert api.get("/api/v1/reports/fields?module=nope").status_code == 400


def test_the_reports_api_is_in_the_openapi_schema(client_for, tenant_a, admin):
    response = client_for(tenant_a, admin).get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/reports/",
        "/api/v1/reports/run",
        "/api/v1/reports/{report_id}/run",
        "/api/v1/reports/{report_id}/export.{fmt}",
        "/api/v1/dashboards/{dashboard_id}/layout",
        "/api/v1/reports/{report_id}/schedules",
        "/api/v1/report-folders/",
        "/api/v1/report-folders/{folder_id}",
    ):
        assert path in paths, path
