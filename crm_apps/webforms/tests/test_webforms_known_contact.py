"""Web forms and known customers (review of issue 23): a lead form that links a contact by email changes
nothing of it (no blanks filled, no files linked, its answers kept on the submission log), answers the
visitor the same whether the address is known or not, and a visitor's file never shows in a customer's
portal as if the company shared it, in any workspace."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from crm_apps.access.models import Profile, ProfileModule, Role
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.engine.services.custom_fields import custom_field_create
from crm_apps.modules.contacts.models import Contact
from crm_apps.modules.documents.models import DocumentLink
from crm_apps.portal.tests.test_portal import invite, portal_client, with_password
from crm_apps.webforms.models import Submission, VisitorDocument
from crm_apps.webforms.tests.test_webforms import CONTRACT, leads, make_form, path_of, visitor

pytestmark = pytest.mark.django_db

EMAIL = "grace@navy.example"


@pytest.fixture
def admin_api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def known_contact(tenant, actor, **data):
    with schema_context(tenant.schema_name):
        return record_create(
            spec=registry.get("contacts"), actor=actor, data={"last_name": "Hopper", "email": EMAIL, **data}
        )


def upload_form(client, **extra):
    fields = [*CONTRACT["fields"], {"field": "phone"}, {"field": "cv", "upload": True, "label": "CV"}]
    return make_form(client, fields=fields, **extra)


def send(tenant, form, **values):
    files = {"cv": SimpleUploadedFile("invoice.pdf.txt", b"pay to IBAN XX00 now", content_type="text/plain")}
    sent = {"last_name": "Someone", "email": EMAIL, "company": "Navy", "phone": "+1 555 0100", **values}
    return visitor(tenant).post(path_of(form["public_url"]), {**sent, **files})


def test_a_lead_form_changes_nothing_of_a_known_contact_and_keeps_what_was_sent_on_the_log(
    admin_api, tenant_a, admin_of, media_root
):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        custom_field_create(actor=admin, spec=registry.get("leads"), key="campaign", label="Campaign", type="text")
        custom_field_create(actor=admin, spec=registry.get("contacts"), key="campaign", label="Campaign", type="text")
    contact = known_contact(tenant_a, admin)
    form = upload_form(admin_api, capture={"utm_source": "custom.campaign"})
    files = {"cv": SimpleUploadedFile("cv.txt", b"visitor file", content_type="text/plain")}
    sent = {"last_name": "Someone", "email": EMAIL, "company": "Navy", "phone": "+1 555 0100", **files}
    answer = visitor(tenant_a).post(path_of(form["public_url"]) + "?utm_source=spring", sent)
    assert answer.status_code == 201, answer.content
    assert leads(tenant_a) == []
    with schema_context(tenant_a.schema_name):
        found = Contact.objects.get(pk=contact.pk)
        assert (found.last_name, found.phone, found.custom_data.get("campaign")) == ("Hopper", "", None)
        assert not DocumentLink.objects.filter(module="contacts", record_id=contact.pk).exists()
        submission = Submission.objects.get(form_id=form["id"])
        assert (submission.module, submission.record_id, submission.linked) == ("contacts", contact.pk, True)
        assert submission.unapplied["phone"] == "+1 555 0100"
        assert submission.unapplied["custom.campaign"] == "spring"  # the captured UTM value is not lost
        kept = VisitorDocument.objects.get(submission=submission)
        assert kept.attached is False and not DocumentLink.objects.filter(document_id=kept.document_id).exists()
        note = TimelineEntry.objects.get(module="contacts", record_id=contact.pk, data__webform=form["id"])
        assert "submission log" in str(note.data["changes"])
    row = admin_api.get(f"/api/v1/webforms/{form['id']}/submissions").json()["results"][0]
    assert row["unapplied"]["custom.campaign"] == "spring"
    assert row["documents"] == [{"id": str(kept.document_id), "attached": False}]
    page = admin_api.get(f"/settings/webforms/{form['id']}/").content.decode()
    assert "+1 555 0100" in page and f"/m/documents/{kept.document_id}/" in page


def test_a_visitors_file_never_shows_in_the_customers_portal(admin_api, tenant_a, admin_of, media_root):
    """Neither through a lead form (the file is linked to nothing) nor through a contact form, which links
    the file to the contact it found: the portal lists only what a member shared."""
    from django.core.files.base import ContentFile

    from crm_apps.modules.documents.services import Upload, document_create

    admin = admin_of(tenant_a)
    contact = known_contact(tenant_a, admin)
    with_password(tenant_a, invite(tenant_a, admin, contact))
    with schema_context(tenant_a.schema_name):
        shared = document_create(
            actor=admin,
            data={"title": "Signed contract"},
            upload=Upload(stream=ContentFile(b"signed"), name="contract.txt", size=6),
            links=[("contacts", contact.pk)],
        )
    lead_form = upload_form(admin_api)
    contact_form = make_form(
        admin_api,
        module="contacts",
        fields=[{"field": "last_name", "required": True}, {"field": "email"}, {"field": "cv", "upload": True}],
        hidden={},
    )
    assert send(tenant_a, lead_form).status_code == 201
    answer = visitor(tenant_a).post(
        path_of(contact_form["public_url"]),
        {"last_name": "X", "email": EMAIL, "cv": SimpleUploadedFile("pay.txt", b"phish", content_type="text/plain")},
    )
    assert answer.status_code == 201, answer.content
    with schema_context(tenant_a.schema_name):
        planted = list(VisitorDocument.objects.order_by("id").values_list("document_id", "attached"))
        assert [attached for _pk, attached in planted] == [False, True]
        assert DocumentLink.objects.filter(module="contacts", record_id=contact.pk, document_id=planted[1][0]).exists()
    client = portal_client(tenant_a, EMAIL)
    listing = client.get("/portal/documents/").content.decode()
    assert "Signed contract" in listing and "pay.txt" not in listing and "invoice.pdf" not in listing
    assert client.get(f"/portal/documents/{shared.pk}/").status_code == 200
    for document_id, _attached in planted:
        assert client.get(f"/portal/documents/{document_id}/").status_code == 404


def test_a_visitor_file_in_one_workspace_hides_nothing_in_another(admin_api, tenant_a, tenant_b, admin_of, media_root):
    """VisitorDocument rows are per workspace: a document id of another workspace is never excluded or
    shown by them (and the same address in another workspace is never linked)."""
    from django.core.files.base import ContentFile

    from crm_apps.modules.documents.services import Upload, document_create

    admin_b = admin_of(tenant_b)
    contact_b = known_contact(tenant_b, admin_b)
    with_password(tenant_b, invite(tenant_b, admin_b, contact_b))
    with schema_context(tenant_b.schema_name):
        document_create(
            actor=admin_b,
            data={"title": "Beta contract"},
            upload=Upload(stream=ContentFile(b"beta"), name="beta.txt", size=4),
            links=[("contacts", contact_b.pk)],
        )
    assert send(tenant_a, upload_form(admin_api)).status_code == 201
    [lead] = leads(tenant_a)  # unknown in alpha: a new lead, with the file on it
    with schema_context(tenant_a.schema_name):
        assert VisitorDocument.objects.get().attached is True
        assert DocumentLink.objects.filter(module="leads", record_id=lead.pk).count() == 1
    with schema_context(tenant_b.schema_name):
        assert not VisitorDocument.objects.exists()
    assert "Beta contract" in portal_client(tenant_b, EMAIL).get("/portal/documents/").content.decode()


def test_the_visitor_gets_the_same_answer_when_the_owner_cannot_see_the_known_contact(
    admin_api, tenant_a, admin_of, member, media_root
):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        leads_only = Profile.objects.create(name="Web leads only", view_all=True)
        ProfileModule.objects.create(
            profile=leads_only, module="contacts", can_view=False, can_create=False, can_edit=False, can_delete=False
        )
        role = Role.objects.create(name="Web desk", parent=Role.objects.filter(parent__isnull=True).first())
        role.profiles.set([leads_only])
    owner = member(tenant_a, role=role)
    contact = known_contact(tenant_a, admin)
    form = upload_form(admin_api, owner=owner.pk)

    known = send(tenant_a, form)
    unknown = send(tenant_a, form, email="new.visitor@example.com")

    assert (known.status_code, unknown.status_code) == (201, 201), known.content
    assert known.content == unknown.content
    with schema_context(tenant_a.schema_name):
        first, second = Submission.objects.filter(form_id=form["id"]).order_by("id")
        assert (first.module, first.record_id) == ("contacts", contact.pk)
        assert second.module == "leads"
        assert not DocumentLink.objects.filter(module="contacts").exists()
        assert VisitorDocument.objects.filter(submission=first, attached=False).count() == 1


def test_a_received_emails_attachment_never_shows_in_the_customers_portal(admin_api, tenant_a, admin_of, media_root):
    """A received email's sender is not authenticated: its attachment is kept on the contact for members, but
    the portal lists (and serves) only files the company sent or shared; a sent email's attachment shows."""
    from django.core.files.base import ContentFile

    from crm_apps.mail.models import Attachment, Message, Thread
    from crm_apps.modules.documents.services import Upload, document_create

    admin = admin_of(tenant_a)
    contact = known_contact(tenant_a, admin)
    with_password(tenant_a, invite(tenant_a, admin, contact))
    files = {}
    with schema_context(tenant_a.schema_name):
        thread = Thread.objects.create(subject="Invoice")
        for direction, name in ((Message.Direction.INBOUND, "received.txt"), (Message.Direction.OUTBOUND, "sent.txt")):
            message = Message.objects.create(thread=thread, direction=direction, message_id=f"<{name}@example>")
            document = document_create(
                actor=admin,
                data={"title": name},
                upload=Upload(stream=ContentFile(b"file"), name=name, size=4),
                links=[("contacts", contact.pk)],
            )
            Attachment.objects.create(message=message, document_id=document.pk, file_name=name, size=4)
            files[name] = document.pk
    client = portal_client(tenant_a, EMAIL)
    listing = client.get("/portal/documents/").content.decode()

    assert "sent.txt" in listing and "received.txt" not in listing
    assert client.get(f"/portal/documents/{files['sent.txt']}/").status_code == 200
    assert client.get(f"/portal/documents/{files['received.txt']}/").status_code == 404
    with schema_context(tenant_a.schema_name):  # members still see it on the contact
        assert DocumentLink.objects.filter(module="contacts", record_id=contact.pk, document_id=files["received.txt"])
