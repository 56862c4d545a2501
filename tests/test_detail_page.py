"""A record page with rows in every list: each related list and record panel is read once, through the
visibility filter, whoever looks; lists with no rows at all are not read (ADR 0047, "Addendum (detail page)").
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from conftest import statements
from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import comment_add, record_create
from crm_apps.mail.models import Mailbox, Message, MessageLink, Thread
from crm_apps.modules.calendar.models import EventLink, TaskLink
from crm_apps.modules.calls.models import CallMatch
from crm_apps.modules.documents.models import DocumentLink

# Modules whose rows the member below may not see (private, owned by the admin).
PRIVATE = ("contacts", "deals", "events", "tasks", "calls", "documents", "tickets", "projects")


def make(actor: Any, module: str, **data: Any) -> Any:
    spec = registry.get(module)
    return record_create(spec=spec, actor=actor, data={**spec.example, **data})


def contact_with_everything(tenant: Any, admin: Any, owner: Any) -> tuple[Any, dict[str, str]]:
    """A contact owned by `owner` with, made by the admin, one row in each of its lists; the rows' titles."""
    with tenant_context(tenant):
        contact = make(owner, "contacts", first_name="Hub", last_name="Contact", email="hub@example.com")
        key = ("contacts", contact.pk)
        titles = {
            "deal": str(make(admin, "deals", name="Hub deal", contact=contact.pk)),
            "report": str(make(admin, "contacts", first_name="Direct", last_name="Report", reports_to=contact.pk)),
            "ticket": str(make(admin, "tickets", title="Hub ticket", contact=contact.pk)),
            "project": str(make(admin, "projects", name="Hub project", contact=contact.pk)),
        }
        event = make(admin, "events", subject="Hub meeting")
        EventLink.objects.create(event=event, module=key[0], record_id=key[1])
        task = make(admin, "tasks", subject="Hub task")
        TaskLink.objects.create(task=task, module=key[0], record_id=key[1])
        call = make(admin, "calls", notes="Hub call notes")
        CallMatch.objects.create(call=call, module=key[0], record_id=key[1])
        document = make(admin, "documents", title="Hub document")
        DocumentLink.objects.create(document=document, module=key[0], record_id=key[1])
        mailbox = Mailbox.objects.create(
            name="Admin's", kind=Mailbox.Kind.PERSONAL, owner=admin, sharing=Mailbox.Sharing.PRIVATE
        )
        thread = Thread.objects.create(subject="Hub email")
        message = Message.objects.create(
            thread=thread, direction="in", message_id="<hub@example.com>", subject="Hub email", mailbox=mailbox
        )
        MessageLink.objects.create(message=message, module=key[0], record_id=key[1])
        comment_add(spec=registry.get("contacts"), actor=admin, record=contact, body="Hub comment")
        titles.update(
            event="Hub meeting", task="Hub task", call="Hub call notes", document="Hub document", email="Hub email"
        )
    return contact, titles


def page(client: Any, contact: Any) -> tuple[str, list[str]]:
    client.get(f"/m/contacts/{contact.pk}/")  # warm the per-process caches (metadata, grants)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/m/contacts/{contact.pk}/")
    assert response.status_code == 200
    return response.content.decode(), statements(captured)


def test_each_list_with_rows_is_read_once_and_shown(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    contact, titles = contact_with_everything(tenant_a, admin, admin)

    html, queries = page(client_for(tenant_a, admin), contact)

    assert [name for name, title in titles.items() if title not in html] == []
    assert "Hub comment" in html
    # Session with member and user, the contact (with the flags), deals, direct reports, events, tasks, calls,
    # documents, emails and the mailboxes they sit in, tickets, projects, the portal account (admins), the
    # timeline and whether the member may see the records its entries name (deals, contacts, tickets,
    # projects: one each), comments and their mentions.
    assert len(queries) == 20, "\n".join(q[:110] for q in queries)


def test_rows_the_member_may_not_see_stay_hidden(client_for, tenant_a, admin_of, member):
    """The flags say only that rows exist: the lists are then read through the visibility filter, which
    leaves out every row the member may not see (private modules, the admin's private mailbox)."""
    admin, clerk = admin_of(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        for module in PRIVATE:
            sharing_default_set(actor=admin, module=module, access="private")
    contact, titles = contact_with_everything(tenant_a, admin, clerk)

    html, queries = page(client_for(tenant_a, clerk), contact)

    assert [name for name, title in titles.items() if title in html] == []
    assert "Hub comment" in html  # comments follow the record
    assert len([q for q in queries if 'FROM "calls_call"' in q]) == 1  # read, and empty for the clerk


@pytest.mark.parametrize("who", ["other tenant", "anonymous"])
def test_the_page_is_not_shown_outside_the_tenant(client_for, tenant_a, tenant_b, admin_of, who):
    admin = admin_of(tenant_a)
    contact, _titles = contact_with_everything(tenant_a, admin, admin)
    client = client_for(tenant_b, admin_of(tenant_b)) if who == "other tenant" else client_for(tenant_a)

    response = client.get(f"/m/contacts/{contact.pk}/")

    assert response.status_code == (404 if who == "other tenant" else 302)
    assert b"Hub deal" not in response.content
