"""Customer portal, issue 23's remaining parts: custom fields published one by one (never otherwise, never a
reference to members or records, gone once archived, never another workspace's); the tickets' list honours
the publication too; the isolation matrix over every portal address that takes an id (other contacts'
records, drafts and other tenants' ids are 404) and every member address and API under every method (a
portal cookie changes nothing); a member's session opens no portal page; a password set or changed by the
contact is on their timeline and reaches the owner."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, get_resolver
from django_tenants.utils import schema_context

from crm_apps.engine import registry
from crm_apps.engine.models import CustomField, TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.engine.services.custom_fields import custom_field_create, custom_field_update
from crm_apps.portal import services
from crm_apps.portal.models import PUBLISHABLE, PortalAccount
from crm_apps.portal.tests.test_portal import (  # noqa: F401
    PASSWORD,
    PUBLIC_NAMES,
    _concrete,
    _routes,
    host,
    invite,
    link_from,
    make_contact,
    make_ticket,
    portal_client,
    setup,
)
from crm_apps.portal.views import COOKIE

pytestmark = pytest.mark.django_db

EVERYTHING = {section: list(names) for section, names in PUBLISHABLE.items()}


def _custom_fields(tenant, admin) -> None:
    with schema_context(tenant.schema_name):
        invoices, tickets = registry.get("invoices"), registry.get("tickets")
        custom_field_create(actor=admin, spec=invoices, key="po_number", label="Purchase order", type="text")
        custom_field_create(actor=admin, spec=invoices, key="margin_note", label="Margin note", type="text")
        custom_field_create(actor=admin, spec=invoices, key="account_manager", label="Account manager", type="member")
        custom_field_create(
            actor=admin, spec=tickets, key="site", label="Plant site", type="picklist", choices=["SiteZ93", "Other"]
        )


def test_custom_fields_are_shown_only_when_published_and_never_references(tenant_a, setup, client_for):  # noqa: F811
    admin, contact = setup["admin"], setup["contact"]
    _custom_fields(tenant_a, admin)
    with schema_context(tenant_a.schema_name):
        record_create(
            spec=registry.get("invoices"),
            actor=admin,
            data={"subject": "March", "contact": contact.pk},
            custom={"po_number": "PO-Z91", "margin_note": "MarginZ92", "account_manager": admin.pk},
        )
        ticket = record_create(
            spec=registry.get("tickets"),
            actor=admin,
            data={"title": "Conveyor stuck", "contact": contact.pk},
            custom={"site": "SiteZ93"},
        )
    client = portal_client(tenant_a, "ada@customer.example")
    pages = ("/portal/", "/portal/records/invoices/", "/portal/tickets/", f"/portal/tickets/{ticket.pk}/")

    def text() -> str:
        return "\n".join(client.get(page).content.decode() for page in pages)

    # New custom fields are unpublished: nothing of them anywhere.
    shown = text()
    for value in ("PO-Z91", "Purchase order", "MarginZ92", "SiteZ93", "Plant site"):
        assert value not in shown, value

    api = client_for(tenant_a, admin)
    settings = api.get("/api/v1/portal/settings").json()
    assert "custom.po_number" in settings["publishable"]["invoices"]
    assert "custom.site" in settings["publishable"]["tickets"]
    assert "custom.account_manager" not in settings["publishable"]["invoices"]  # a member reference

    answer = api.patch(
        "/api/v1/portal/settings",
        {"published_fields": {"invoices": ["subject", "custom.po_number"], "tickets": ["custom.site"]}},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["published_fields"]["invoices"] == ["subject", "custom.po_number"]
    shown = text()
    assert "PO-Z91" in shown and "Purchase order" in shown
    assert "MarginZ92" not in shown  # its neighbour stays unpublished
    ticket_list = client.get("/portal/tickets/").content.decode()
    ticket_page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert "SiteZ93" in ticket_list and "Plant site" in ticket_list  # the list honours publication too
    assert "SiteZ93" in ticket_page

    refused = api.patch(
        "/api/v1/portal/settings",
        {"published_fields": {"invoices": ["custom.account_manager"]}},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert list(refused.json()) == ["published_fields.invoices"]
    assert api.get("/api/v1/portal/settings").json()["published_fields"]["invoices"] == ["subject", "custom.po_number"]

    # Archived: no longer publishable, no longer shown, though its name is still in the stored row.
    with schema_context(tenant_a.schema_name):
        custom_field_update(actor=admin, field=CustomField.objects.get(key="po_number"), archived=True)
    assert "PO-Z91" not in text()
    assert api.get("/api/v1/portal/settings").json()["published_fields"]["invoices"] == ["subject"]


def test_the_settings_screen_offers_custom_fields_and_saves_them(tenant_a, setup, client_for):  # noqa: F811
    admin = setup["admin"]
    _custom_fields(tenant_a, admin)
    screen = client_for(tenant_a, admin)
    page = screen.get("/settings/portal/").content.decode()
    assert 'name="published.invoices" value="custom.po_number"' in page and "Purchase order" in page
    assert "custom.account_manager" not in page
    data: dict[str, Any] = {"action": "settings", "ticket_scope": "own", "accent_colour": "#2457c5", "enabled": "1"}
    data["sections"] = ["invoices"]
    response = screen.post("/settings/portal/", {**data, "published.invoices": ["custom.margin_note", "balance"]})
    assert response.status_code == 302
    with schema_context(tenant_a.schema_name):
        assert services.settings_get().published("invoices") == ["balance", "custom.margin_note"]


def test_another_workspaces_custom_field_cannot_be_published(tenant_a, tenant_b, setup, client_for, admin_of):  # noqa: F811
    admin_b = admin_of(tenant_b)
    with schema_context(tenant_b.schema_name):
        custom_field_create(actor=admin_b, spec=registry.get("invoices"), key="beta_only", label="Beta", type="text")
    api = client_for(tenant_a, setup["admin"])
    refused = api.patch(
        "/api/v1/portal/settings",
        {"published_fields": {"invoices": ["custom.beta_only"]}},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "custom.beta_only" not in api.get("/api/v1/portal/settings").json()["publishable"]["invoices"]
    beta = client_for(tenant_b, admin_b)
    assert "custom.beta_only" in beta.get("/api/v1/portal/settings").json()["publishable"]["invoices"]


# --- The isolation matrix ---------------------------------------------------------------------------------


def _portal_id_routes() -> set[str]:
    """The portal's addresses that take a record's id (set-password takes a signed token instead)."""
    from crm_apps.portal import urls

    return {
        p.name
        for p in urls.urlpatterns
        if isinstance(p, URLPattern) and re.search(r"<str:\w*id>", str(p.pattern)) and p.name
    }


def _world(tenant, admin, contact) -> dict[str, Any]:
    """One record of every kind with an id in the portal, for `contact` (with a document shared with them
    and one attached to their ticket), plus a draft FAQ entry."""
    from crm_apps.modules.documents.services import Upload, document_create

    with schema_context(tenant.schema_name):
        made: dict[str, Any] = {
            "ticket": record_create(
                spec=registry.get("tickets"), actor=admin, data={"title": "MatrixTicket", "contact": contact.pk}
            ),
            "quotes": record_create(
                spec=registry.get("quotes"), actor=admin, data={"subject": "Q", "contact": contact.pk}
            ),
            "invoices": record_create(
                spec=registry.get("invoices"), actor=admin, data={"subject": "I", "contact": contact.pk}
            ),
            "faq": record_create(
                spec=registry.get("faq"), actor=admin, data={"question": "Q?", "answer": "A.", "status": "Published"}
            ),
            "faq_draft": record_create(
                spec=registry.get("faq"), actor=admin, data={"question": "Draft?", "answer": "No.", "status": "Draft"}
            ),
        }
        made["shared"] = document_create(
            actor=admin,
            data={"title": "Shared"},
            upload=Upload(stream=ContentFile(b"shared"), name="shared.txt", size=6),
            links=[("contacts", contact.pk)],
        )
        made["attached"] = document_create(
            actor=admin,
            data={"title": "Attached"},
            upload=Upload(stream=ContentFile(b"attached"), name="attached.txt", size=8),
            links=[("tickets", made["ticket"].pk)],
        )
    return made


def _requests(made: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "ticket": [f"/portal/tickets/{made['ticket'].pk}/"],
        "faq_entry": [f"/portal/faq/{made['faq'].pk}/"],
        "document": [f"/portal/documents/{made['shared'].pk}/", f"/portal/documents/{made['attached'].pk}/"],
        "record_pdf": [f"/portal/records/{m}/{made[m].pk}/pdf/" for m in ("quotes", "invoices")],
    }


def test_matrix_every_portal_address_with_an_id_is_404_for_what_is_not_the_contacts(
    tenant_a,
    tenant_b,
    setup,  # noqa: F811
    admin_of,
    media_root,
):
    admin, contact = setup["admin"], setup["contact"]
    with schema_context(tenant_a.schema_name):
        services.settings_save(actor=admin, data={"published_fields": EVERYTHING})
    mine = _world(tenant_a, admin, contact)
    stranger = make_contact(tenant_a, admin, last_name="Stranger", email="stranger@customer.example")
    theirs = _world(tenant_a, admin, stranger)
    admin_b = admin_of(tenant_b)
    contact_b = make_contact(tenant_b, admin_b, last_name="Beta", email="ada@customer.example")
    with schema_context(tenant_b.schema_name):
        services.settings_save(actor=admin_b, data={"published_fields": EVERYTHING})
    other_tenant = _world(tenant_b, admin_b, contact_b)

    own, others, beta = _requests(mine), _requests(theirs), _requests(other_tenant)
    others["faq_entry"] = []  # a published FAQ entry is every contact's; another workspace's is not
    # Every address of the portal that takes an id is in the matrix (a new one must be added here).
    assert set(own) == _portal_id_routes()
    client = portal_client(tenant_a, "ada@customer.example")
    for name in own:
        for path in own[name]:
            assert client.get(path).status_code == 200, path  # what is the contact's opens
        for path in others[name] + beta[name]:
            assert client.get(path).status_code == 404, path
    # Drafts and made-up ids of every kind are 404 too (a stranger's published FAQ entry is everyone's).
    assert client.get(f"/portal/faq/{mine['faq_draft'].pk}/").status_code == 404
    for pattern in ("/portal/tickets/{}/", "/portal/documents/{}/", "/portal/records/invoices/{}/pdf/"):
        for made_up in ("00000000-0000-0000-0000-000000000000", "1", "x' OR 1=1"):
            assert client.get(pattern.format(made_up)).status_code == 404
    # Writing to another contact's ticket or another tenant's is a 404 and changes nothing.
    from crm_apps.modules.tickets.models import TicketReply

    for action in ({"action": "answer", "body": "hi"}, {"action": "close"}, {"action": "reopen"}, {"action": "rate"}):
        for path in others["ticket"] + beta["ticket"]:
            assert client.post(path, {**action, "rating": "5"}).status_code == 404
    with schema_context(tenant_a.schema_name):
        assert not TicketReply.objects.filter(ticket=theirs["ticket"]).exists()
        assert registry.get("tickets").model.objects.get(pk=theirs["ticket"].pk).status == theirs["ticket"].status
    with schema_context(tenant_b.schema_name):
        assert not TicketReply.objects.filter(ticket=other_tenant["ticket"]).exists()
    # Lists show the contact's own only.
    for listing in ("/portal/tickets/", "/portal/documents/", "/portal/records/quotes/", "/portal/records/invoices/"):
        page = client.get(listing).content.decode()
        assert theirs["quotes"].number not in page and theirs["invoices"].number not in page, listing
        assert str(theirs["ticket"].pk) not in page and str(theirs["shared"].pk) not in page, listing


METHODS = ("post", "put", "patch", "delete")


def _public_by_design(path: str, response: Any) -> bool:
    """Two tenant addresses answer anyone with a 2xx and change nothing for them: the vtiger-compatible
    webservice refuses in its own protocol (200 with `"success": false` until its own session token), and
    the email open-tracking pixel is a GIF for every mail reader."""
    if path == "/webservice.php":
        return b'"success": false' in response.content
    return path.startswith("/mail/t/") and response["Content-Type"] == "image/gif"


NEW_PASSWORD = "another-Secret-77"


def test_matrix_a_portal_cookie_changes_nothing_through_any_member_address_or_api(tenant_a, setup):  # noqa: F811
    """Every tenant route outside the portal and the public forms, under every writing method, with a live
    portal cookie (and no CSRF check in the test client, so the view itself must refuse): never a 2xx from a
    member address, never a 5xx, and the contact's ticket and the contact are untouched."""
    ticket = make_ticket(tenant_a, setup["admin"], setup["contact"], title="Portal write matrix")
    client = portal_client(tenant_a, "ada@customer.example")
    with schema_context(tenant_a.schema_name):
        before = registry.get("tickets").model.objects.count(), registry.get("contacts").model.objects.count()
    checked = 0
    leaks = []
    for route, name in _routes(get_resolver("saas.urls_tenant")):
        if route.startswith(("portal/", "f/", "i18n/", "static/")) or name in PUBLIC_NAMES:
            continue
        if name.startswith("access:") and not route.startswith("settings"):
            continue  # member sign-in, recovery and invitations: public by design, and they sign nobody in
        path = _concrete(route, ticket.pk)
        if path is None:
            continue
        for method in METHODS:
            response = getattr(client, method)(path, {"title": "changed"}, content_type="application/json")
            checked += 1
            if response.status_code >= 500 or (
                200 <= response.status_code < 300 and not _public_by_design(path, response)
            ):
                leaks.append((method, path, response.status_code, response.content[:120]))
    assert checked > 400
    assert leaks == [], "\n".join(map(str, leaks))
    with schema_context(tenant_a.schema_name):
        after = registry.get("tickets").model.objects.count(), registry.get("contacts").model.objects.count()
        assert after == before
        assert registry.get("tickets").model.objects.get(pk=ticket.pk).title == "Portal write matrix"


def test_a_members_session_opens_no_portal_page(tenant_a, setup, client_for):  # noqa: F811
    ticket = make_ticket(tenant_a, setup["admin"], setup["contact"], title="Member cannot see here")
    staff = client_for(tenant_a, setup["admin"])
    for path in (
        "/portal/",
        "/portal/tickets/",
        f"/portal/tickets/{ticket.pk}/",
        "/portal/faq/",
        "/portal/documents/",
        "/portal/profile/",
        "/portal/records/invoices/",
    ):
        response = staff.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/portal/login/"), path
    assert staff.post("/portal/tickets/", {"title": "Staff via portal"}).status_code == 302
    with schema_context(tenant_a.schema_name):
        assert not registry.get("tickets").model.objects.filter(title="Staff via portal").exists()


# --- Password events on the timeline ----------------------------------------------------------------------


def test_activation_and_password_change_are_on_the_timeline_and_reach_the_owner(
    tenant_a, admin_of, member, mailoutbox, django_capture_on_commit_callbacks
):
    from crm_apps.modules.contacts.models import Contact
    from crm_apps.notifications.models import Notification

    admin = admin_of(tenant_a)
    owner = member(tenant_a)
    contact = make_contact(tenant_a, admin, first_name="Grace", email="grace@customer.example")
    with schema_context(tenant_a.schema_name):
        Contact.objects.filter(pk=contact.pk).update(owner=owner)
    with django_capture_on_commit_callbacks(execute=True):
        invite(tenant_a, admin, contact)
    link = urlsplit(link_from(mailoutbox[-1])).path
    visitor = Client(HTTP_HOST=host(tenant_a))
    with django_capture_on_commit_callbacks(execute=True):
        assert visitor.post(link, {"password": PASSWORD, "confirm": PASSWORD}).status_code == 302
    client = portal_client(tenant_a, "grace@customer.example")
    with django_capture_on_commit_callbacks(execute=True):
        changed = client.post(
            "/portal/profile/",
            {"action": "password", "current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
    assert changed.status_code == 302
    with schema_context(tenant_a.schema_name):
        entries = [
            next(iter(e.data["changes"].values()))[1]
            for e in TimelineEntry.objects.filter(module="contacts", record_id=contact.pk, data__portal=True).order_by(
                "id"
            )
        ]
        assert entries[-2:] == ["Portal access activated by the contact", "Portal password changed by the contact"]
        whats = list(
            Notification.objects.filter(recipient=owner, kind="portal_activity", record_id=contact.pk)
            .order_by("id")
            .values_list("params__what", flat=True)
        )
        assert whats == ["portal access activated", "password changed"]
        assert PortalAccount.objects.get(contact_id=contact.pk).password
    # The old cookie ended with the change.
    assert client.get("/portal/").status_code == 302
    assert COOKIE in client.cookies


def test_a_russian_contact_reads_ticket_values_in_russian(tenant_a, setup):  # noqa: F811
    from django.utils import translation

    from crm_apps.engine import metadata
    from crm_apps.modules.tickets import picklists as P

    admin, contact = setup["admin"], setup["contact"]
    ticket = make_ticket(tenant_a, admin, contact, title="Language ticket", priority="High")
    with schema_context(tenant_a.schema_name):
        services.settings_save(actor=admin, data={"published_fields": {"tickets": ["priority"]}})
        PortalAccount.objects.filter(pk=setup["account"].pk).update(language="ru")
        with translation.override("ru"):
            status = metadata.picklist_labels("ticket_status")[P.OPEN]
            priority = metadata.picklist_labels("ticket_priority")["High"]
    assert (status, priority) != (P.OPEN, "High")  # there is a Russian label to show
    client = portal_client(tenant_a, "ada@customer.example")
    for path in ("/portal/", "/portal/tickets/", f"/portal/tickets/{ticket.pk}/"):
        page = client.get(path).content.decode()
        assert f'<span class="badge">{status}</span>' in page or f"<td>{status}</td>" in page, path
    assert f"<td>{priority}</td>" in client.get("/portal/tickets/").content.decode()


def test_the_overview_lists_quotes_awaiting_an_answer_when_their_status_is_published(tenant_a, setup):  # noqa: F811
    admin, contact = setup["admin"], setup["contact"]
    stranger = make_contact(tenant_a, admin, last_name="Stranger")
    with schema_context(tenant_a.schema_name):
        spec = registry.get("quotes")
        sent = record_create(
            spec=spec, actor=admin, data={"subject": "SentQuoteZ1", "contact": contact.pk, "status": "Delivered"}
        )
        record_create(
            spec=spec, actor=admin, data={"subject": "DoneQuoteZ2", "contact": contact.pk, "status": "Accepted"}
        )
        record_create(
            spec=spec, actor=admin, data={"subject": "TheirQuoteZ3", "contact": stranger.pk, "status": "Delivered"}
        )
    client = portal_client(tenant_a, "ada@customer.example")
    home = client.get("/portal/").content.decode()
    assert "Quotes awaiting your answer" in home and sent.number in home and "SentQuoteZ1" in home
    assert "DoneQuoteZ2" not in home and "TheirQuoteZ3" not in home
    with schema_context(tenant_a.schema_name):
        services.settings_save(actor=admin, data={"published_fields": {"quotes": ["subject", "pdf"]}})
    home = client.get("/portal/").content.decode()
    assert "Quotes awaiting your answer" not in home and "SentQuoteZ1" not in home  # the status is not published


def test_a_group_owned_ticket_notifies_the_groups_members(
    tenant_a,
    setup,  # noqa: F811
    member,
    django_capture_on_commit_callbacks,
):
    from crm_apps.access.models import Group
    from crm_apps.modules.tickets.models import Ticket
    from crm_apps.notifications.models import Notification

    first, second, outsider = member(tenant_a), member(tenant_a), member(tenant_a)
    ticket = make_ticket(tenant_a, setup["admin"], setup["contact"], title="Team ticket")
    with schema_context(tenant_a.schema_name):
        team = Group.objects.create(name="Support team")
        team.members.add(first, second)
        Ticket.objects.filter(pk=ticket.pk).update(owner=None, owner_group=team)
    client = portal_client(tenant_a, "ada@customer.example")
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            client.post(f"/portal/tickets/{ticket.pk}/", {"action": "answer", "body": "Any news?"}).status_code == 302
        )
    with schema_context(tenant_a.schema_name):
        told = set(
            Notification.objects.filter(kind="portal_activity", record_id=ticket.pk).values_list("recipient", flat=True)
        )
    assert told == {first.pk, second.pk} and outsider.pk not in told


def test_a_portal_message_and_password_change_are_in_the_audit_trail(tenant_a, setup):  # noqa: F811
    from crm_apps.audit.models import AuditEvent

    ticket = make_ticket(tenant_a, setup["admin"], setup["contact"], title="Audited ticket")
    client = portal_client(tenant_a, "ada@customer.example")
    assert client.post(f"/portal/tickets/{ticket.pk}/", {"action": "answer", "body": "Still broken"}).status_code == 302
    changed = client.post(
        "/portal/profile/",
        {"action": "password", "current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    with schema_context(tenant_a.schema_name):
        answer = AuditEvent.objects.get(module="tickets", record_id=str(ticket.pk), details__portal="answer")
        password = AuditEvent.objects.get(
            module="contacts", record_id=str(setup["contact"].pk), details__portal="password_changed"
        )
    for event in (answer, password):
        assert event.actor_id is None and "(customer portal)" in event.actor_label
