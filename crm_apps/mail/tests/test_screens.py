"""The email screens: compose (errors kept in the form), a thread, mailboxes (a connection error shown,
status, converter rules), templates, and one click from an unmatched message to a lead."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.mail.models import ConverterRule, Mailbox, Template
from crm_apps.mail.parsing import parse
from crm_apps.mail.store import message_store
from crm_apps.mail.tests.servers import PASSWORD, raw_email


def test_compose_shows_field_errors_and_keeps_what_was_typed(tenant_a, admin_of, make_mailbox, sink, client_for):
    admin = admin_of(tenant_a)
    make_mailbox(tenant_a, admin, smtp_port=sink.port)
    client = client_for(tenant_a, admin)
    page = client.get("/mail/compose/?to=ann%40c.test")
    assert page.status_code == 200 and 'value="ann@c.test"' in page.content.decode()
    with tenant_context(tenant_a):
        assert Template.objects.filter(language="ru").count() == 3  # the starter templates, both languages
    bad = client.post("/mail/compose/", {"to": "not-an-address", "subject": "Kept subject"})
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "not-an-address is not an email address." in body and 'value="Kept subject"' in body
    assert sink.received == []


def test_compose_without_a_mailbox_says_what_to_do(tenant_a, member, client_for):
    someone = member(tenant_a)
    response = client_for(tenant_a, someone).post("/mail/compose/", {"to": "a@c.test", "subject": "x"})
    assert response.status_code == 400 and "/mail/mailboxes/new/" in response.content.decode()


def test_mailbox_form_shows_the_connection_error_and_saves_nothing(tenant_a, member, dovecot, client_for):
    owner = member(tenant_a)
    form = {
        "name": "Mine",
        "kind": "personal",
        "sharing": "subject",
        "email_address": "alice@crm-mail.test",
        "imap_host": "127.0.0.1",
        "imap_port": str(dovecot.port),
        "imap_security": "none",
        "imap_username": "alice",
        "imap_password": "wrong",
        "imap_folder": "INBOX",
        "smtp_port": "25",
        "smtp_security": "none",
        "first_sync_days": "30",
        "sync_enabled": "on",
    }
    client = client_for(tenant_a, owner)
    response = client.post("/mail/mailboxes/new/", form)
    assert response.status_code == 400
    assert "The IMAP server refused the user name or password." in response.content.decode()
    assert "wrong" not in response.content.decode()
    with tenant_context(tenant_a):
        assert not Mailbox.objects.filter(owner=owner).exists()
    saved = client.post("/mail/mailboxes/new/", {**form, "imap_password": PASSWORD})
    assert saved.status_code == 302
    with tenant_context(tenant_a):
        mailbox = Mailbox.objects.get(owner=owner)
    status_page = client.get(f"/mail/mailboxes/{mailbox.pk}/")
    assert status_page.status_code == 200 and "Sync now" in status_page.content.decode()
    assert client_for(tenant_a, member(tenant_a)).get(f"/mail/mailboxes/{mailbox.pk}/").status_code == 404


def test_converter_rules_are_managed_on_the_shared_mailbox_page(tenant_a, admin_of, make_mailbox, client_for):
    admin = admin_of(tenant_a)
    mailbox = make_mailbox(tenant_a, admin, user="support", kind="shared", email_address="support@crm-mail.test")
    client = client_for(tenant_a, admin)
    url = f"/mail/mailboxes/{mailbox.pk}/"
    bad = client.post(
        url,
        {
            "action": "rule_add",
            "name": "Bad",
            "field": "subject",
            "operator": "regex",
            "value": "([",
            "action_kind": "link",
        },
    )
    assert bad.status_code == 400 and "Enter a valid regular expression" in bad.content.decode()
    good = client.post(
        url,
        {
            "action": "rule_add",
            "name": "Leads",
            "field": "subject",
            "operator": "contains",
            "value": "price",
            "action_kind": "create_lead",
            "move_to": "Done",
        },
    )
    assert good.status_code == 302
    with tenant_context(tenant_a):
        rule = ConverterRule.objects.get(mailbox=mailbox)
        assert (rule.name, rule.action, rule.move_to, rule.position) == ("Leads", "create_lead", "Done", 1)
    client.post(url, {"action": "rule_delete", "rule": str(rule.pk)})
    with tenant_context(tenant_a):
        assert not ConverterRule.objects.filter(mailbox=mailbox).exists()


def test_an_unmatched_message_becomes_a_lead_in_one_click(tenant_a, admin_of, make_mailbox, client_for):
    admin = admin_of(tenant_a)
    mailbox = make_mailbox(tenant_a, admin, sharing="full")
    raw = raw_email(
        subject="Interested",
        sender="Nina New <nina@newco.test>",
        to=mailbox.email_address,
        message_id="<nina-1@newco.test>",
    )
    with tenant_context(tenant_a):
        message, _created = message_store(parsed=parse(raw), mailbox=mailbox, uid=None, uidvalidity=None)
    client = client_for(tenant_a, admin)
    inbox = client.get("/mail/").content.decode()
    assert "Interested" in inbox and "Create lead" in inbox
    response = client.post(f"/mail/messages/{message.pk}/record", {"module": "leads"})
    assert response.status_code == 302
    with tenant_context(tenant_a):
        lead = registry.get("leads").model.objects.get(email="nina@newco.test")
        assert (lead.first_name, lead.last_name, lead.company) == ("Nina", "New", "newco.test")
        assert list(message.links.values_list("module", "record_id")) == [("leads", lead.pk)]
    thread = client.get(f"/mail/threads/{message.thread_id}/")
    assert thread.status_code == 200 and "Interested" in thread.content.decode()


def test_compose_with_an_uploaded_file_and_bulk_from_selected_records(
    tenant_a, admin_of, make_mailbox, sink, client_for, media_root, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from crm_apps.engine.services import record_create

    admin = admin_of(tenant_a)
    make_mailbox(tenant_a, admin, smtp_port=sink.port)
    with tenant_context(tenant_a):
        keen = record_create(
            spec=registry.get("leads"), actor=admin, data={"last_name": "Keen", "company": "K", "email": "keen@c.test"}
        )
        out = record_create(
            spec=registry.get("leads"),
            actor=admin,
            data={"last_name": "Out", "company": "O", "email": "out@c.test", "email_opt_out": True},
        )
    client = client_for(tenant_a, admin)
    pdf = b"%PDF-1.4\n%%EOF\n"
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            "/mail/compose/",
            {
                "to": "keen@c.test",
                "subject": "With a file",
                "body_html": "<p>x</p>",
                "related": f"leads:{keen.pk}",
                "files": SimpleUploadedFile("offer.pdf", pdf, content_type="application/pdf"),
            },
        )
    assert sent.status_code == 302
    [mime] = sink.messages()
    assert [p.get_filename() for p in mime.walk() if p.get_filename()] == ["offer.pdf"]
    with tenant_context(tenant_a):
        template = Template.objects.create(
            name="Bulk", module="leads", subject="Hello {{ lead.last_name }}", body_html="<p>Hi</p>", owner=admin
        )
    page = client.get(f"/mail/bulk/?module=leads&ids={keen.pk},{out.pk}")
    assert page.status_code == 200 and "2 records" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            "/mail/bulk/", {"module": "leads", "ids": f"{keen.pk},{out.pk}", "template": str(template.pk)}
        )
    assert done.status_code == 302
    assert [m["To"] for m in sink.messages()] == ["keen@c.test", "keen@c.test"]
    assert sink.messages()[1]["Subject"] == "Hello Keen"


def test_the_list_s_selection_bar_emails_the_selected_records(tenant_a, admin_of, client_for):
    from crm_apps.engine.services import record_create

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        one, two = (
            record_create(
                spec=registry.get("leads"), actor=admin, data={"last_name": n, "company": "K", "email": f"{n}@c.test"}
            )
            for n in ("ann", "bob")
        )
        from crm_apps.modules.calendar.services import task_create

        task_create(actor=admin, data={"subject": "Call back", "due_date": "2030-01-01"})
    client = client_for(tenant_a, admin)

    leads = client.get("/m/leads/").content.decode()
    tasks_list = client.get("/m/tasks/").content.decode()
    chosen = client.get(f"/mail/bulk/leads/?ids={one.pk}&ids={two.pk}&action=")

    assert 'formaction="/mail/bulk/leads/"' in leads and 'data-selection-action="email"' in leads
    assert "mass-form" in tasks_list and 'data-selection-action="email"' not in tasks_list  # no email field
    page = chosen.content.decode()
    assert chosen.status_code == 200 and "2 records" in page
    assert f'value="{one.pk},{two.pk}"' in page  # the POST of the form carries the selection on
