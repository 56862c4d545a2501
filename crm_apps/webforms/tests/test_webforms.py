"""Web forms: builder API, public submission (owner, consent, UTM, dedupe, files), abuse checks, CORS,
the Redis-down path, statistics, CSV export, the builder screens and cross-tenant isolation."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from crm_apps.access.models import Group
from crm_apps.audit.models import AuditEvent
from crm_apps.engine.models import TimelineEntry
from crm_apps.modules.contacts.models import Contact
from crm_apps.modules.documents.models import Document, DocumentLink
from crm_apps.modules.leads.models import Lead
from crm_apps.modules.organizations.models import Organization
from crm_apps.notifications.models import Notification
from crm_apps.webforms import guard
from crm_apps.webforms.models import DailyStat, Submission, WebForm
from saas import throttle
from saas.settings.cache import CACHES

pytestmark = pytest.mark.django_db

CONTRACT = {
    "name": "Contact us",
    "module": "leads",
    "fields": [{"field": "last_name", "required": True}, {"field": "email"}, {"field": "company"}],
    "hidden": {"description": "Website form"},
}
SITE = "https://www.acme.example"


@pytest.fixture
def admin_api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def make_form(client, **extra):
    response = client.post("/api/v1/webforms/", {**CONTRACT, **extra}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def path_of(url: str) -> str:
    return url.split("localhost", 1)[1]


def visitor(tenant, **headers) -> Client:
    return Client(HTTP_HOST=f"{tenant.schema_name}.localhost", **headers)


def leads(tenant, **filters):
    with schema_context(tenant.schema_name):
        return list(Lead.objects.filter(deleted_at__isnull=True, **filters))


def test_the_contract_creates_a_form_with_public_url_and_snippet(admin_api, tenant_a):
    body = make_form(admin_api)

    assert isinstance(body["id"], int)
    assert body["public_url"].startswith("http://alpha.localhost/f/")
    assert body["public_url"].endswith("/")
    assert f'data-kestrel-form="{body["public_url"]}"' in body["snippet"]
    assert "http://alpha.localhost/f/embed.js" in body["snippet"]
    assert 'action="' + body["public_url"] + '"' in body["html"]
    assert [f["field"] for f in body["fields"]] == ["last_name", "email", "company"]
    assert body["hidden"] == {"description": "Website form"}


def test_a_json_submission_creates_the_lead_with_hidden_values_owner_and_no_ids_in_the_answer(
    admin_api, tenant_a, admin_of
):
    body = make_form(admin_api)
    response = visitor(tenant_a).post(
        path_of(body["public_url"]),
        {"last_name": "Lovelace", "email": "ada@example.com", "company": "Engines", "utm_source": "newsletter"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer == {"ok": True, "message": "Thank you, we have received your message."}
    [lead] = leads(tenant_a, email="ada@example.com")
    assert str(lead.pk) not in response.content.decode()
    assert (lead.last_name, lead.company, lead.description) == ("Lovelace", "Engines", "Website form")
    assert lead.owner_id == admin_of(tenant_a).pk
    with schema_context(tenant_a.schema_name):
        submission = Submission.objects.get(form_id=body["id"])
        assert (submission.status, submission.record_id, submission.utm_source) == ("accepted", lead.pk, "newsletter")
        assert TimelineEntry.objects.filter(module="leads", record_id=lead.pk, kind="created").count() == 1
        note = TimelineEntry.objects.get(module="leads", record_id=lead.pk, data__webform=body["id"])
        assert "Contact us" in next(iter(note.data["changes"].values()))[1]


def test_a_form_encoded_submission_without_accept_html_answers_json(admin_api, tenant_a):
    body = make_form(admin_api)
    response = visitor(tenant_a).post(path_of(body["public_url"]), {"last_name": "Hopper", "company": "Navy"})
    assert response.status_code == 201
    assert len(leads(tenant_a, last_name="Hopper")) == 1


def test_a_browser_form_post_redirects_to_the_thank_you_page_or_the_redirect_url(admin_api, tenant_a):
    body = make_form(admin_api)
    browser = visitor(tenant_a, HTTP_ACCEPT="text/html,application/xhtml+xml")
    response = browser.post(path_of(body["public_url"]), {"last_name": "Hopper", "company": "Navy"})
    assert response.status_code == 303
    assert response["Location"].endswith("?sent=1")
    assert "Thank you" in browser.get(response["Location"]).content.decode()

    admin_api.patch(
        f"/api/v1/webforms/{body['id']}",
        {"redirect_url": "https://www.acme.example/thanks"},
        content_type="application/json",
    )
    again = browser.post(path_of(body["public_url"]), {"last_name": "Liskov", "company": "MIT"})
    assert (again.status_code, again["Location"]) == (303, "https://www.acme.example/thanks")


def test_a_missing_required_field_is_a_400_naming_it_and_creates_nothing(admin_api, tenant_a):
    body = make_form(admin_api)
    response = visitor(tenant_a).post(
        path_of(body["public_url"]), {"email": "x@example.com", "company": "X"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["last_name"]
    assert leads(tenant_a) == []
    with schema_context(tenant_a.schema_name):
        rejected = Submission.objects.get(form_id=body["id"])
        assert (rejected.status, rejected.reason, rejected.detail) == ("rejected", "invalid", {"fields": ["last_name"]})
        assert rejected.values == {}


def test_an_engine_error_on_a_field_the_visitor_cannot_see_names_nothing_of_the_configuration(admin_api, tenant_a):
    body = make_form(admin_api, fields=[{"field": "email"}], hidden={})  # the lead's last name is never asked
    response = visitor(tenant_a).post(
        path_of(body["public_url"]), {"email": "a@example.com"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["non_field_errors"]
    assert leads(tenant_a) == []


def test_dedupe_links_to_the_lead_with_the_same_email_and_fills_only_blanks(admin_api, tenant_a):
    body = make_form(admin_api, fields=[*CONTRACT["fields"], {"field": "city"}])
    client = visitor(tenant_a)
    first = {"last_name": "Curie", "email": "marie@example.com", "company": "Sorbonne"}
    assert client.post(path_of(body["public_url"]), first, content_type="application/json").status_code == 201
    second = {"last_name": "Sklodowska", "email": "MARIE@example.com", "company": "Other", "city": "Paris"}
    assert client.post(path_of(body["public_url"]), second, content_type="application/json").status_code == 201

    [lead] = leads(tenant_a)
    assert (lead.last_name, lead.company, lead.city) == ("Curie", "Sorbonne", "Paris")
    with schema_context(tenant_a.schema_name):
        assert list(Submission.objects.filter(form_id=body["id"]).order_by("id").values_list("linked", flat=True)) == [
            False,
            True,
        ]


def test_contacts_form_creates_or_finds_the_organisation(admin_api, tenant_a):
    body = make_form(
        admin_api,
        module="contacts",
        fields=[{"field": "last_name", "required": True}, {"field": "email"}, {"field": "organization_name"}],
        hidden={},
    )
    client = visitor(tenant_a)
    for name, email in (("Knuth", "don@example.com"), ("Tarjan", "bob@example.com")):
        answer = client.post(
            path_of(body["public_url"]),
            {"last_name": name, "email": email, "organization_name": "Stanford"},
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.content
    with schema_context(tenant_a.schema_name):
        [org] = Organization.objects.filter(name="Stanford")
        assert set(Contact.objects.filter(organization=org).values_list("last_name", flat=True)) == {"Knuth", "Tarjan"}


def test_consent_is_required_and_stored_with_time_and_ip(admin_api, tenant_a):
    body = make_form(admin_api, consent_text="I agree to be contacted.")
    client = visitor(tenant_a, REMOTE_ADDR="203.0.113.7")
    refused = client.post(
        path_of(body["public_url"]), {"last_name": "Noether", "company": "Göttingen"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["consent"]
    assert leads(tenant_a) == []

    accepted = client.post(
        path_of(body["public_url"]),
        {"last_name": "Noether", "company": "Göttingen", "consent": "1"},
        content_type="application/json",
    )
    assert accepted.status_code == 201
    [lead] = leads(tenant_a)
    with schema_context(tenant_a.schema_name):
        row = Submission.objects.get(form_id=body["id"], status="accepted")
        assert (row.consent_ip, row.consent_text) == ("203.0.113.7", "I agree to be contacted.")
        assert row.consent_at is not None
        note = TimelineEntry.objects.get(module="leads", record_id=lead.pk, data__webform=body["id"])
        assert "203.0.113.7" in next(iter(note.data["changes"].values()))[1]


def test_utm_referrer_and_landing_page_are_captured_into_fields(admin_api, tenant_a):
    body = make_form(
        admin_api,
        fields=CONTRACT["fields"],
        hidden={},
        capture={"utm_campaign": "description", "referrer": "website"},
    )
    response = visitor(tenant_a).post(
        path_of(body["public_url"]) + "?utm_campaign=spring",
        {"last_name": "Turing", "company": "Bletchley", "referrer": "https://search.example/q"},
        content_type="application/json",
    )
    assert response.status_code == 201
    [lead] = leads(tenant_a)
    assert (lead.description, lead.website) == ("spring", "https://search.example/q")


def test_group_round_robin_assigns_in_turn_and_notifies_each_owner(
    admin_api, tenant_a, member, django_capture_on_commit_callbacks
):
    first, second = member(tenant_a), member(tenant_a)
    with schema_context(tenant_a.schema_name):
        team = Group.objects.create(name="Web team")
        team.members.add(first, second)
    body = make_form(admin_api, owner_group=team.pk)
    client = visitor(tenant_a)
    for name in ("One", "Two"):
        with django_capture_on_commit_callbacks(execute=True):
            assert (
                client.post(
                    path_of(body["public_url"]), {"last_name": name, "company": "C"}, content_type="application/json"
                ).status_code
                == 201
            )
    with schema_context(tenant_a.schema_name):
        owners = dict(Lead.objects.values_list("last_name", "owner_id"))
        assert {owners["One"], owners["Two"]} == {first.pk, second.pk}
        notified = dict(Notification.objects.filter(kind="webform_submission").values_list("recipient_id", "module"))
        assert notified == {first.pk: "leads", second.pk: "leads"}


def test_uploads_become_documents_linked_to_the_record(admin_api, tenant_a, media_root):
    body = make_form(admin_api, fields=[*CONTRACT["fields"], {"field": "cv", "upload": True, "label": "CV"}])
    upload = SimpleUploadedFile("cv.txt", b"my curriculum vitae", content_type="text/plain")
    response = visitor(tenant_a).post(
        path_of(body["public_url"]), {"last_name": "Hamilton", "company": "NASA", "cv": upload}
    )
    assert response.status_code == 201, response.content
    [lead] = leads(tenant_a)
    with schema_context(tenant_a.schema_name):
        link = DocumentLink.objects.get(module="leads", record_id=lead.pk)
        assert Document.objects.get(pk=link.document_id).file_name == "cv.txt"


def test_an_upload_over_the_limit_is_refused_and_nothing_is_written(admin_api, tenant_a, media_root, settings):
    settings.DOCUMENTS_MAX_UPLOAD_MB = 0  # every file is too large
    body = make_form(admin_api, fields=[*CONTRACT["fields"], {"field": "cv", "upload": True}])
    upload = SimpleUploadedFile("cv.txt", b"x" * 10, content_type="text/plain")
    response = visitor(tenant_a).post(path_of(body["public_url"]), {"last_name": "Big", "company": "C", "cv": upload})
    assert response.status_code in (400, 413)
    assert leads(tenant_a) == []
    with schema_context(tenant_a.schema_name):
        assert Document.objects.count() == 0


def test_the_honeypot_answers_like_success_but_creates_nothing_and_logs_why(admin_api, tenant_a):
    body = make_form(admin_api)
    response = visitor(tenant_a).post(
        path_of(body["public_url"]),
        {"last_name": "Bot", "company": "Spam", guard.HONEYPOT: "http://spam.example"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert leads(tenant_a) == []
    with schema_context(tenant_a.schema_name):
        assert Submission.objects.get(form_id=body["id"]).reason == "honeypot"


def test_too_fast_submissions_and_forged_tokens_are_refused(admin_api, tenant_a, monkeypatch):
    body = make_form(admin_api, min_seconds=5)
    client = visitor(tenant_a)
    with schema_context(tenant_a.schema_name):
        form = WebForm.objects.get(pk=body["id"])
        token = guard.token_for(form)
    values = {"last_name": "Quick", "company": "C", "_ts": token}
    fast = client.post(path_of(body["public_url"]), values, content_type="application/json")
    assert fast.status_code == 400
    missing = client.post(
        path_of(body["public_url"]), {"last_name": "Q", "company": "C"}, content_type="application/json"
    )
    assert missing.status_code == 400
    forged = client.post(
        path_of(body["public_url"]), {**values, "_ts": token[:-2] + "xx"}, content_type="application/json"
    )
    assert forged.status_code == 400
    assert leads(tenant_a) == []

    later = time.time() + 6
    monkeypatch.setattr(guard.time, "time", lambda: later)
    slow = client.post(path_of(body["public_url"]), values, content_type="application/json")
    assert slow.status_code == 201
    with schema_context(tenant_a.schema_name):
        assert (
            list(Submission.objects.filter(form_id=body["id"], status="rejected").values_list("reason", flat=True))
            == ["too_fast"] * 3
        )


def test_per_ip_rate_limit_answers_429_with_retry_after(admin_api, tenant_a):
    body = make_form(admin_api, ip_limit_per_hour=2)
    client = visitor(tenant_a, REMOTE_ADDR="198.51.100.9")
    answers = [
        client.post(
            path_of(body["public_url"]), {"last_name": f"R{i}", "company": "C"}, content_type="application/json"
        )
        for i in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert 0 < int(answers[2]["Retry-After"]) <= 3600
    other = visitor(tenant_a, REMOTE_ADDR="198.51.100.10")
    assert (
        other.post(
            path_of(body["public_url"]), {"last_name": "Ok", "company": "C"}, content_type="application/json"
        ).status_code
        == 201
    )
    assert len(leads(tenant_a)) == 3


def test_per_form_rate_limit_counts_every_address(admin_api, tenant_a):
    body = make_form(admin_api, form_limit_per_hour=1)
    first = visitor(tenant_a, REMOTE_ADDR="192.0.2.1").post(
        path_of(body["public_url"]), {"last_name": "A", "company": "C"}, content_type="application/json"
    )
    second = visitor(tenant_a, REMOTE_ADDR="192.0.2.2").post(
        path_of(body["public_url"]), {"last_name": "B", "company": "C"}, content_type="application/json"
    )
    assert (first.status_code, second.status_code) == (201, 429)
    assert second["Retry-After"]


def test_with_redis_down_submissions_still_work_and_limits_let_them_through(admin_api, tenant_a, monkeypatch):
    body = make_form(admin_api, ip_limit_per_hour=1)
    down = {
        "default": {
            **CACHES["default"],
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    monkeypatch.setattr(throttle, "_clients", {})
    client = visitor(tenant_a)
    with override_settings(CACHES=down):
        answers = [
            client.post(
                path_of(body["public_url"]), {"last_name": f"D{i}", "company": "C"}, content_type="application/json"
            )
            for i in range(2)
        ]
        page = client.get(path_of(body["public_url"]))
    monkeypatch.setattr(throttle, "_clients", {})
    assert [a.status_code for a in answers] == [201, 201]
    assert page.status_code == 200
    assert len(leads(tenant_a)) == 2


def test_values_longer_than_the_limit_and_oversized_bodies_are_refused(admin_api, tenant_a):
    body = make_form(admin_api, max_field_chars=20)
    client = visitor(tenant_a)
    long = client.post(
        path_of(body["public_url"]), {"last_name": "x" * 21, "company": "C"}, content_type="application/json"
    )
    assert long.status_code == 400
    assert list(long.json()["errors"]) == ["last_name"]
    huge = client.post(
        path_of(body["public_url"]),
        {"last_name": "y", "company": "z" * (guard.MAX_TEXT_BODY + 10)},
        content_type="application/json",
    )
    assert huge.status_code == 413
    assert leads(tenant_a) == []
    with schema_context(tenant_a.schema_name):
        assert sorted(Submission.objects.values_list("reason", flat=True)) == ["invalid", "too_large"]


def test_markup_is_stored_as_text_and_escaped_on_the_log_and_hosted_page(admin_api, tenant_a):
    body = make_form(admin_api, success_message="<b>Thanks</b>")
    script = "<script>alert(1)</script>"
    visitor(tenant_a).post(
        path_of(body["public_url"]), {"last_name": script, "company": "C"}, content_type="application/json"
    )
    [lead] = leads(tenant_a)
    assert lead.last_name == script
    page = visitor(tenant_a).get(path_of(body["public_url"]) + "?sent=1").content.decode()
    assert "<b>Thanks</b>" not in page
    assert "&lt;b&gt;Thanks&lt;/b&gt;" in page
    detail = admin_api.get(f"/settings/webforms/{body['id']}/")
    assert script not in detail.content.decode()


def test_csv_export_neutralises_formulas(admin_api, tenant_a):
    body = make_form(admin_api)
    visitor(tenant_a).post(
        path_of(body["public_url"]),
        {"last_name": '=HYPERLINK("http://x")', "company": "+1", "email": ""},
        content_type="application/json",
    )
    response = admin_api.get(f"/settings/webforms/{body['id']}/submissions.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][-4:-1] == ['\'=HYPERLINK("http://x")', "", "'+1"]


def test_cors_allows_listed_origins_only(admin_api, tenant_a):
    body = make_form(admin_api, allowed_origins=[SITE])
    url = path_of(body["public_url"])
    listed = visitor(tenant_a, HTTP_ORIGIN=SITE)
    preflight = listed.options(url, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == SITE
    posted = listed.post(url, {"last_name": "Cors", "company": "C"}, content_type="application/json")
    assert (posted.status_code, posted["Access-Control-Allow-Origin"]) == (201, SITE)
    definition = listed.get(url + "definition.json")
    assert (definition.status_code, definition["Access-Control-Allow-Origin"]) == (200, SITE)
    assert [f["name"] for f in definition.json()["fields"]] == ["last_name", "email", "company"]

    stranger = visitor(tenant_a, HTTP_ORIGIN="https://evil.example")
    assert stranger.options(url, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST").status_code == 403
    refused = stranger.post(url, {"last_name": "Evil", "company": "C"}, content_type="application/json")
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused
    assert "Access-Control-Allow-Origin" not in stranger.get(url + "definition.json")
    assert len(leads(tenant_a)) == 1


def test_the_embed_script_is_served_and_the_hosted_page_has_no_inline_script(admin_api, tenant_a):
    body = make_form(admin_api)
    script = visitor(tenant_a).get("/f/embed.js")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    page = visitor(tenant_a).get(path_of(body["public_url"])).content.decode()
    assert "<script>" not in page
    assert " on" + "click=" not in page
    assert 'name="website_url"' in page


def test_statistics_count_views_submissions_and_conversion_by_source(admin_api, tenant_a):
    body = make_form(admin_api)
    client = visitor(tenant_a)
    url = path_of(body["public_url"])
    for _ in range(3):
        client.get(url + "?utm_source=ads")
    client.get(url)
    client.post(url + "?utm_source=ads", {"last_name": "S", "company": "C"}, content_type="application/json")
    client.post(url, {"company": "C"}, content_type="application/json")  # rejected

    stats = admin_api.get(f"/api/v1/webforms/{body['id']}/stats").json()
    assert (stats["views"], stats["submissions"], stats["rejected"], stats["conversion"]) == (4, 1, 1, 25.0)
    assert stats["rejected_by_reason"] == {"invalid": 1}
    assert stats["by_source"][0] == {"source": "ads", "views": 3, "submissions": 1, "conversion": 33.3}
    log = admin_api.get(f"/api/v1/webforms/{body['id']}/submissions?status=rejected").json()["results"]
    assert [r["reason"] for r in log] == ["invalid"]


def test_an_inactive_form_accepts_nothing(admin_api, tenant_a):
    body = make_form(admin_api, active=False)
    response = visitor(tenant_a).post(
        path_of(body["public_url"]), {"last_name": "Late", "company": "C"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert leads(tenant_a) == []


def test_builder_rejects_bad_definitions_with_field_errors(admin_api, tenant_a):
    bad = admin_api.post(
        "/api/v1/webforms/",
        {
            "name": "",
            "module": "leads",
            "fields": [{"field": "owner"}, {"field": "nope"}],
            "hidden": {"nope": "x"},
            "allowed_origins": ["javascript:alert(1)"],
            "min_seconds": -1,
        },
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) >= {"name", "fields.0", "fields.1", "hidden.nope", "allowed_origins", "min_seconds"}
    unknown = admin_api.post("/api/v1/webforms/", {**CONTRACT, "module": "nothing"}, content_type="application/json")
    assert (unknown.status_code, list(unknown.json())) == (400, ["module"])
    with schema_context(tenant_a.schema_name):
        assert WebForm.objects.count() == 0


def test_only_members_who_manage_settings_see_or_change_forms(admin_api, client_for, tenant_a, member):
    body = make_form(admin_api)
    plain = client_for(tenant_a, member(tenant_a))
    assert plain.get("/api/v1/webforms/").status_code == 403
    assert plain.post("/api/v1/webforms/", CONTRACT, content_type="application/json").status_code == 403
    assert plain.delete(f"/api/v1/webforms/{body['id']}").status_code == 403
    assert plain.get(f"/api/v1/webforms/{body['id']}/submissions").status_code == 403
    assert plain.get("/settings/webforms/").status_code == 403
    assert client_for(tenant_a).get("/api/v1/webforms/").status_code in (401, 403)
    with schema_context(tenant_a.schema_name):
        assert WebForm.objects.count() == 1


def test_forms_are_isolated_between_tenants(admin_api, client_for, tenant_a, tenant_b, admin_of):
    body = make_form(admin_api)
    other_admin = client_for(tenant_b, admin_of(tenant_b))
    assert other_admin.get(f"/api/v1/webforms/{body['id']}").status_code == 404
    assert other_admin.get("/api/v1/webforms/").json()["results"] == []
    assert other_admin.delete(f"/api/v1/webforms/{body['id']}").status_code == 404
    on_b = visitor(tenant_b).post(
        path_of(body["public_url"]), {"last_name": "X", "company": "C"}, content_type="application/json"
    )
    assert on_b.status_code == 404
    assert leads(tenant_a) == [] and leads(tenant_b) == []
    with schema_context(tenant_a.schema_name):
        assert WebForm.objects.filter(pk=body["id"]).exists()


def test_builder_screens_create_edit_and_show_a_form(admin_api, tenant_a):
    created = admin_api.post("/settings/webforms/new/", {"name": "Quote request", "module": "leads"})
    assert created.status_code == 302
    with schema_context(tenant_a.schema_name):
        form = WebForm.objects.get(name="Quote request")
        assert {f["field"] for f in form.fields} >= {"last_name", "company", "email"}
    edit_url = f"/settings/webforms/{form.pk}/edit/"
    assert admin_api.get(edit_url).status_code == 200
    saved = admin_api.post(
        edit_url,
        {
            "name": "Quote request",
            "f-company-on": "1",
            "f-company-order": "2",
            "f-company-required": "1",
            "f-last_name-on": "1",
            "f-last_name-order": "1",
            "f-last_name-required": "1",
            "f-source-hidden": "Web",
            "upload-0-field": "brief",
            "active": "1",
            "notify_owner": "1",
            "allowed_origins": SITE,
            "min_seconds": "3",
            "ip_limit_per_hour": "5",
            "form_limit_per_hour": "100",
            "max_field_chars": "500",
            "capture-utm_source": "description",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    with schema_context(tenant_a.schema_name):
        form.refresh_from_db()
        assert [f["field"] for f in form.fields] == ["last_name", "company", "brief"]
        assert (form.hidden, form.allowed_origins, form.min_seconds, form.dedupe_by_email) == (
            {"source": "Web"},
            [SITE],
            3,
            False,
        )
        assert form.capture == {"utm_source": "description"}
        assert AuditEvent.objects.filter(module="webforms", record_id=str(form.pk)).count() == 2
    detail = admin_api.get(f"/settings/webforms/{form.pk}/")
    assert detail.status_code == 200
    assert "data-kestrel-form" in detail.content.decode()
    bad = admin_api.post(edit_url, {"name": "", "min_seconds": "x"})
    assert bad.status_code == 400
    deleted = admin_api.post(f"/settings/webforms/{form.pk}/delete/")
    assert deleted.status_code == 302
    with schema_context(tenant_a.schema_name):
        assert not WebForm.objects.filter(pk=form.pk).exists()


def test_a_submission_counts_views_with_one_upsert_row_per_day_and_source(admin_api, tenant_a):
    body = make_form(admin_api)
    client = visitor(tenant_a)
    client.get(path_of(body["public_url"]) + "definition.json?utm_source=x")
    client.get(path_of(body["public_url"]) + "definition.json?utm_source=x")
    with schema_context(tenant_a.schema_name):
        assert list(DailyStat.objects.values_list("source", "views")) == [("x", 2)]


def test_a_captcha_hook_refuses_what_it_does_not_pass(admin_api, tenant_a):
    body = make_form(admin_api)

    def solved(form, values):
        return values.get("captcha") == "42"

    guard.challenge_add(solved)
    try:
        client = visitor(tenant_a)
        refused = client.post(
            path_of(body["public_url"]), {"last_name": "Bot", "company": "C"}, content_type="application/json"
        )
        passed = client.post(
            path_of(body["public_url"]),
            {"last_name": "Human", "company": "C", "captcha": "42"},
            content_type="application/json",
        )
    finally:
        guard.challenge_remove(solved)
    assert (refused.status_code, passed.status_code) == (400, 201)
    assert [lead.last_name for lead in leads(tenant_a)] == ["Human"]
    with schema_context(tenant_a.schema_name):
        assert Submission.objects.get(status="rejected").reason == "challenge"


def test_a_custom_module_with_custom_fields_takes_submissions(admin_api, tenant_a, admin_of):
    from django_tenants.utils import tenant_context

    from crm_apps.custom_modules.services import custom_module_create

    with tenant_context(tenant_a):
        custom_module_create(
            actor=admin_of(tenant_a),
            key="enquiry",
            label="Enquiry",
            label_plural="Enquiries",
            fields=[{"key": "budget", "label": "Budget", "type": "text", "required": True}],
        )
    body = make_form(
        admin_api,
        module="enquiry",
        fields=[{"field": "name", "required": True}, {"field": "custom.budget", "required": True}],
        hidden={},
    )
    client = visitor(tenant_a)
    missing = client.post(path_of(body["public_url"]), {"name": "Roof"}, content_type="application/json")
    assert (missing.status_code, list(missing.json()["errors"])) == (400, ["custom.budget"])
    sent = client.post(
        path_of(body["public_url"]), {"name": "Roof", "custom.budget": "5000"}, content_type="application/json"
    )
    assert sent.status_code == 201, sent.content
    with schema_context(tenant_a.schema_name):
        from crm_apps.custom_modules.models import CustomRecord

        [record] = CustomRecord.objects.filter(module_key="enquiry")
        assert (record.name, record.custom_data) == ("Roof", {"budget": "5000"})


@pytest.mark.parametrize(
    ("module", "values", "model_path"),
    [
        (
            "tickets",
            {"title": "Cannot log in", "description": "Since Monday"},
            "crm_apps.modules.tickets.models.Ticket",
        ),
        ("deals", {"name": "Website enquiry"}, "crm_apps.modules.deals.models.Deal"),
        ("organizations", {"name": "Acme Ltd"}, "crm_apps.modules.organizations.models.Organization"),
    ],
)
def test_tickets_deals_and_organisations_forms_create_their_records(admin_api, tenant_a, module, values, model_path):
    from django.utils.module_loading import import_string

    body = make_form(admin_api, module=module, fields=[{"field": k, "required": True} for k in values], hidden={})
    sent = visitor(tenant_a).post(path_of(body["public_url"]), values, content_type="application/json")
    assert sent.status_code == 201, sent.content
    with schema_context(tenant_a.schema_name):
        model = import_string(model_path)
        first = next(iter(values))
        assert model.objects.filter(**{first: values[first]}).count() == 1
