"""Web forms, issue 23's remaining part: a lead form's visitor who is already a contact (same email) is linked
to that contact instead of becoming a duplicate lead, in that workspace only."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.modules.contacts.models import Contact
from crm_apps.notifications.models import Notification
from crm_apps.webforms.models import Submission
from crm_apps.webforms.tests.test_webforms import CONTRACT, leads, make_form, path_of, visitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def test_a_lead_form_links_a_known_contact_instead_of_making_a_duplicate_lead(
    admin_api, tenant_a, admin_of, member, django_capture_on_commit_callbacks
):
    owner = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        contact = record_create(
            spec=registry.get("contacts"),
            actor=admin_of(tenant_a),
            data={"last_name": "Hopper", "email": "grace@navy.example", "owner": owner.pk},
        )
    body = make_form(admin_api, fields=[*CONTRACT["fields"], {"field": "phone"}])
    sent = {"last_name": "Someone else", "email": "GRACE@navy.example", "company": "Navy", "phone": "+1 555 0100"}
    with django_capture_on_commit_callbacks(execute=True):
        answer = visitor(tenant_a).post(path_of(body["public_url"]), sent, content_type="application/json")
    assert answer.status_code == 201, answer.content
    assert "id" not in answer.json() and str(contact.pk) not in answer.content.decode()
    assert leads(tenant_a) == []
    with schema_context(tenant_a.schema_name):
        submission = Submission.objects.get(form_id=body["id"])
        assert (submission.module, submission.record_id, submission.linked) == ("contacts", contact.pk, True)
        found = Contact.objects.get(pk=contact.pk)
        assert (found.last_name, found.phone) == ("Hopper", "")  # a lead form changes nothing of a contact
        assert submission.unapplied["phone"] == "+1 555 0100"  # what was sent stays on the log
        assert TimelineEntry.objects.filter(module="contacts", record_id=contact.pk, data__webform=body["id"]).exists()
        notification = Notification.objects.get(recipient=owner, kind="webform_submission")
        assert (notification.module, notification.record_id) == ("contacts", contact.pk)
    log = admin_api.get(f"/api/v1/webforms/{body['id']}/submissions").json()
    row = log["results"][0] if isinstance(log, dict) else log[0]
    assert (row["module"], row["record_id"]) == ("contacts", str(contact.pk))


def test_a_contact_of_another_workspace_is_never_linked(admin_api, tenant_a, tenant_b, admin_of):
    with schema_context(tenant_b.schema_name):
        record_create(
            spec=registry.get("contacts"), actor=admin_of(tenant_b), data={"last_name": "Beta", "email": "x@y.example"}
        )
    body = make_form(admin_api)
    values = {"last_name": "Alpha visitor", "email": "x@y.example", "company": "Alpha"}
    answer = visitor(tenant_a).post(path_of(body["public_url"]), values, content_type="application/json")
    assert answer.status_code == 201
    [lead] = leads(tenant_a)
    assert lead.last_name == "Alpha visitor"
    with schema_context(tenant_a.schema_name):
        assert Submission.objects.get(form_id=body["id"]).module == "leads"


def test_without_dedupe_a_known_contact_still_makes_a_lead(admin_api, tenant_a, admin_of):
    with schema_context(tenant_a.schema_name):
        record_create(
            spec=registry.get("contacts"), actor=admin_of(tenant_a), data={"last_name": "Known", "email": "k@n.example"}
        )
    body = make_form(admin_api, dedupe_by_email=False)
    values = {"last_name": "Known again", "email": "k@n.example", "company": "K"}
    answer = visitor(tenant_a).post(path_of(body["public_url"]), values, content_type="application/json")
    assert answer.status_code == 201
    assert [lead.last_name for lead in leads(tenant_a)] == ["Known again"]


def test_the_csv_export_names_the_record_and_the_consent_and_neutralises_every_cell(admin_api, tenant_a):
    import csv
    import io

    body = make_form(admin_api, consent_text="I agree to be contacted.")
    sent = {"last_name": "Lovelace", "email": "ada@example.com", "company": "-Engines", "consent": "on"}
    answer = visitor(tenant_a).post(
        path_of(body["public_url"]) + "?utm_source=%3D1%2B1", sent, content_type="application/json"
    )
    assert answer.status_code == 201, answer.content
    response = admin_api.get(f"/settings/webforms/{body['id']}/submissions.csv")
    header, row = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    cell = dict(zip(header, row, strict=True))
    [lead] = leads(tenant_a)
    assert (cell["Module"], cell["Record ID"]) == ("leads", str(lead.pk))
    assert cell["Consent given"] and cell["Consent IP address"] == "127.0.0.1"
    assert cell["UTM source"] == "'=1+1" and cell["company"] == "'-Engines"


def test_the_csv_export_is_for_form_managers_of_that_workspace_only(
    admin_api, tenant_a, tenant_b, client_for, admin_of
):
    body = make_form(admin_api)
    other = client_for(tenant_b, admin_of(tenant_b))
    assert other.get(f"/settings/webforms/{body['id']}/submissions.csv").status_code == 404
