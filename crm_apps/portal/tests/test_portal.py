"""Customer portal: invitation, password, sign-in (throttled, separate cookie), tickets, FAQ, documents,
profile, timeline and notifications, and the isolation matrix (member URLs and API, other contacts,
internal notes, unpublished fields, other tenants)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import schema_context

from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.modules.tickets.models import Ticket, TicketReply
from crm_apps.notifications.models import Notification
from crm_apps.portal import services
from crm_apps.portal.models import PortalAccount, PortalSession
from crm_apps.portal.views import COOKIE, COOKIE_PATH

pytestmark = pytest.mark.django_db

PASSWORD = "portal-Secret-1984"


def host(tenant) -> str:
    return f"{tenant.schema_name}.localhost"


def make_contact(tenant, actor, **data: Any) -> Any:
    with schema_context(tenant.schema_name):
        return record_create(spec=registry.get("contacts"), actor=actor, data={"last_name": "Customer", **data})


def make_ticket(tenant, actor, contact, **data: Any) -> Any:
    with schema_context(tenant.schema_name):
        return record_create(
            spec=registry.get("tickets"),
            actor=actor,
            data={"title": "Printer on fire", "contact": contact.pk, **data},
        )


def link_from(mail) -> str:
    found = re.search(r"https?://\S+/portal/set-password/\S+/", mail.body)
    assert found is not None
    return found.group(0)


def invite(tenant, actor, contact, **kw: Any) -> PortalAccount:
    with schema_context(tenant.schema_name):
        return services.portal_invite(actor=actor, contact_id=contact.pk, **kw)


def with_password(tenant, account: PortalAccount) -> PortalAccount:
    with schema_context(tenant.schema_name):
        return services.password_set(account=account, password=PASSWORD, confirm=PASSWORD)


def portal_client(tenant, email: str) -> Client:
    client = Client(HTTP_HOST=host(tenant))
    response = client.post("/portal/login/", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def setup(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    contact = make_contact(tenant_a, admin, first_name="Ada", email="ada@customer.example")
    account = with_password(tenant_a, invite(tenant_a, admin, contact))
    return {"admin": admin, "contact": contact, "account": account}


def test_invitation_sends_a_link_that_sets_the_password_once(
    tenant_a, admin_of, mailoutbox, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    contact = make_contact(tenant_a, admin, email="grace@customer.example")
    with django_capture_on_commit_callbacks(execute=True):
        account = invite(tenant_a, admin, contact, support_start="2020-01-01", support_end="2099-12-31")
    assert [m.to for m in mailoutbox] == [["grace@customer.example"]]
    url = link_from(mailoutbox[0])
    path = url.split("localhost", 1)[1].split("/", 1)[1]
    client = Client(HTTP_HOST=host(tenant_a))
    assert client.get("/" + path).status_code == 200
    weak = client.post("/" + path, {"password": "123", "confirm": "123"})
    assert weak.status_code == 400
    done = client.post("/" + path, {"password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 302
    assert client.post("/" + path, {"password": PASSWORD, "confirm": PASSWORD}).status_code == 400  # used
    with schema_context(tenant_a.schema_name):
        account.refresh_from_db()
        assert account.password.startswith(("pbkdf2", "md5", "argon2", "bcrypt", "scrypt"))
        # "Portal access given", then "Portal access activated by the contact" (the password set).
        assert TimelineEntry.objects.filter(module="contacts", record_id=contact.pk, data__portal=True).count() == 2


def test_invite_refuses_members_who_cannot_edit_and_contacts_without_email(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    contact = make_contact(tenant_a, admin)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as problem:
        invite(tenant_a, admin, contact)
    assert list(problem.value.message_dict) == ["contact"]
    with schema_context(tenant_a.schema_name):
        assert PortalAccount.objects.count() == 0


def test_sign_in_uses_its_own_cookie_and_never_a_member_session(tenant_a, setup):
    client = Client(HTTP_HOST=host(tenant_a))
    response = client.post("/portal/login/", {"email": "ADA@customer.example", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[COOKIE]
    assert (cookie["path"], bool(cookie["httponly"])) == (COOKIE_PATH, True)
    assert "sessionid" not in response.cookies
    assert client.get("/portal/").status_code == 200
    member_home = client.get("/")
    assert member_home.status_code == 302
    assert "/accounts/login/" in member_home["Location"]
    client.post("/portal/logout/")
    with schema_context(tenant_a.schema_name):
        assert PortalSession.objects.count() == 0
    assert client.get("/portal/")["Location"].startswith("/portal/login/")


def test_a_member_session_does_not_open_the_portal(tenant_a, setup, client_for):
    member_client = client_for(tenant_a, setup["admin"])
    response = member_client.get("/portal/tickets/")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")


def test_sign_in_is_throttled_and_refuses_outside_the_support_dates(tenant_a, setup):
    client = Client(HTTP_HOST=host(tenant_a))
    for _ in range(services.LOGIN_LIMIT):
        assert client.post("/portal/login/", {"email": "ada@customer.example", "password": "wrong"}).status_code == 400
    locked = client.post("/portal/login/", {"email": "ada@customer.example", "password": PASSWORD})
    assert locked.status_code == 400
    assert COOKIE not in locked.cookies

    from django.core.cache import cache

    cache.clear()
    with schema_context(tenant_a.schema_name):
        PortalAccount.objects.update(support_end="2001-01-01")
    ended = Client(HTTP_HOST=host(tenant_a)).post(
        "/portal/login/", {"email": "ada@customer.example", "password": PASSWORD}
    )
    assert ended.status_code == 400


def test_reset_sends_a_link_only_to_accounts_and_answers_the_same(
    tenant_a, setup, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    with schema_context(tenant_a.schema_name):  # reset requests are throttled (counters outlive a test run)
        cache.delete_many(["portal:reset:email:ada@customer.example", "portal:reset:ip:127.0.0.1"])
    client = Client(HTTP_HOST=host(tenant_a))
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/portal/reset/", {"email": "ada@customer.example"})
        unknown = client.post("/portal/reset/", {"email": "nobody@customer.example"})
    assert known.status_code == unknown.status_code == 200
    assert [m.to for m in mailoutbox] == [["ada@customer.example"]]
    assert "/portal/set-password/" in mailoutbox[0].body


def test_contact_opens_a_ticket_with_an_attachment_on_the_timeline_and_the_owner_is_notified(
    tenant_a, setup, member, media_root, django_capture_on_commit_callbacks
):
    owner = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        from crm_apps.modules.contacts.models import Contact

        Contact.objects.filter(pk=setup["contact"].pk).update(owner=owner)
    client = portal_client(tenant_a, "ada@customer.example")
    upload = ContentFile(b"error log", name="log.txt")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/portal/tickets/", {"title": "It broke", "description": "<b>help</b>", "attachments": upload}
        )
    assert response.status_code == 302
    with schema_context(tenant_a.schema_name):
        ticket = Ticket.objects.get(title="It broke")
        assert (ticket.contact_id, ticket.owner_id, ticket.channel) == (setup["contact"].pk, owner.pk, "Portal")
        assert TimelineEntry.objects.filter(module="tickets", record_id=ticket.pk, data__portal=True).count() == 1
        assert Notification.objects.filter(recipient=owner, kind="portal_activity", record_id=ticket.pk).count() == 1
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert "log.txt" in page
    assert "<b>help</b>" not in page


def test_internal_notes_and_unpublished_fields_are_never_shown(tenant_a, setup):
    admin, contact = setup["admin"], setup["contact"]
    ticket = make_ticket(tenant_a, admin, contact, severity="Critical", solution="Secret workaround")
    with schema_context(tenant_a.schema_name):
        TicketReply.objects.create(
            ticket=ticket, kind=TicketReply.Kind.NOTE, author=admin, body="INTERNAL: customer is rude"
        )
        TicketReply.objects.create(ticket=ticket, kind=TicketReply.Kind.REPLY, author=admin, body="We are on it")
    client = portal_client(tenant_a, "ada@customer.example")
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert "We are on it" in page
    assert "INTERNAL" not in page
    assert "Secret workaround" not in page
    assert "Critical" not in page
    with schema_context(tenant_a.schema_name):
        services.settings_save(actor=admin, data={"ticket_fields": ["solution"]})
    published = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert "Secret workaround" in published
    assert "Critical" not in published
    assert "INTERNAL" not in published


def test_answer_close_reopen_and_rate(tenant_a, setup, django_capture_on_commit_callbacks):
    ticket = make_ticket(tenant_a, setup["admin"], setup["contact"])
    client = portal_client(tenant_a, "ada@customer.example")
    url = f"/portal/tickets/{ticket.pk}/"
    assert client.post(url, {"action": "rate", "rating": "5"}).status_code == 400  # not closed yet
    assert client.post(url, {"action": "answer", "body": "Still broken"}).status_code == 302
    assert client.post(url, {"action": "close"}).status_code == 302
    assert client.post(url, {"action": "rate", "rating": "9"}).status_code == 400
    assert client.post(url, {"action": "rate", "rating": "4"}).status_code == 302
    with schema_context(tenant_a.schema_name):
        ticket.refresh_from_db()
        assert (ticket.status, ticket.satisfaction) == ("Closed", 4)
        assert TicketReply.objects.get(ticket=ticket).kind == "customer"
    assert client.post(url, {"action": "reopen"}).status_code == 302
    with schema_context(tenant_a.schema_name):
        ticket.refresh_from_db()
        assert ticket.status == "Open"
        assert TimelineEntry.objects.filter(module="tickets", record_id=ticket.pk, data__portal=True).count() == 4


def test_organisation_scope_shows_colleagues_tickets_only_when_chosen(tenant_a, setup):
    admin = setup["admin"]
    with schema_context(tenant_a.schema_name):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Customer Inc"})
        from crm_apps.modules.contacts.models import Contact

        Contact.objects.filter(pk=setup["contact"].pk).update(organization=org)
    colleague = make_contact(tenant_a, admin, last_name="Colleague", organization=org.pk)
    theirs = make_ticket(tenant_a, admin, colleague, title="Colleague's issue", organization=org.pk)
    client = portal_client(tenant_a, "ada@customer.example")
    assert client.get(f"/portal/tickets/{theirs.pk}/").status_code == 404
    assert "Colleague&#x27;s issue" not in client.get("/portal/tickets/").content.decode()
    with schema_context(tenant_a.schema_name):
        services.settings_save(actor=admin, data={"ticket_scope": "organization"})
    assert client.get(f"/portal/tickets/{theirs.pk}/").status_code == 200


def test_published_faq_only_with_search(tenant_a, setup):
    admin = setup["admin"]
    with schema_context(tenant_a.schema_name):
        spec = registry.get("faq")
        shown = record_create(
            spec=spec,
            actor=admin,
            data={"question": "How to reset the printer?", "answer": "<p>Hold the button.</p>", "status": "Published"},
        )
        draft = record_create(
            spec=spec, actor=admin, data={"question": "Unreleased printer secrets", "answer": "x", "status": "Draft"}
        )
    client = portal_client(tenant_a, "ada@customer.example")
    listing = client.get("/portal/faq/?q=printer").content.decode()
    assert "How to reset the printer?" in listing
    assert "Unreleased" not in listing
    assert "How to reset" not in client.get("/portal/faq/?q=scanner").content.decode()
    assert client.get(f"/portal/faq/{shown.pk}/").status_code == 200
    assert client.get(f"/portal/faq/{draft.pk}/").status_code == 404


def test_profile_edit_changes_the_contact_and_password_change_ends_sessions(tenant_a, setup):
    client = portal_client(tenant_a, "ada@customer.example")
    saved = client.post(
        "/portal/profile/",
        {
            "action": "profile",
            "first_name": "Augusta",
            "last_name": "King",
            "phone": "+44 20 7946 0000",
            "language": "ru",
        },
    )
    assert saved.status_code == 302
    with schema_context(tenant_a.schema_name):
        contact = registry.get("contacts").records().get(pk=setup["contact"].pk)
        assert (contact.first_name, contact.last_name, contact.phone) == ("Augusta", "King", "+44 20 7946 0000")
        assert PortalAccount.objects.get().language == "ru"
    assert "Профиль" in client.get("/portal/profile/").content.decode()
    empty = client.post("/portal/profile/", {"action": "profile", "last_name": ""})
    assert empty.status_code == 400
    wrong = client.post("/portal/profile/", {"action": "password", "current": "nope", "password": "x", "confirm": "x"})
    assert wrong.status_code == 400
    changed = client.post(
        "/portal/profile/",
        {"action": "password", "current": PASSWORD, "password": "An0ther-Secret-77", "confirm": "An0ther-Secret-77"},
    )
    assert changed.status_code == 302
    assert client.get("/portal/").status_code == 302  # the old session ended


def test_documents_shared_with_the_contact_only(tenant_a, setup, media_root):
    from crm_apps.modules.documents.services import Upload, document_create

    admin = setup["admin"]
    other = make_contact(tenant_a, admin, last_name="Other")
    with schema_context(tenant_a.schema_name):
        mine = document_create(
            actor=admin,
            data={"title": "Contract"},
            upload=Upload(stream=ContentFile(b"signed"), name="contract.txt", size=6),
            links=[("contacts", setup["contact"].pk)],
        )
        theirs = document_create(
            actor=admin,
            data={"title": "Theirs"},
            upload=Upload(stream=ContentFile(b"other"), name="other.txt", size=5),
            links=[("contacts", other.pk)],
        )
    client = portal_client(tenant_a, "ada@customer.example")
    listing = client.get("/portal/documents/").content.decode()
    assert "Contract" in listing and "Theirs" not in listing
    download = client.get(f"/portal/documents/{mine.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"signed"  # type: ignore[attr-defined]
    assert client.get(f"/portal/documents/{theirs.pk}/").status_code == 404


def test_other_contacts_tickets_and_other_tenants_give_404(tenant_a, tenant_b, setup, admin_of):
    admin = setup["admin"]
    other = make_contact(tenant_a, admin, last_name="Stranger")
    theirs = make_ticket(tenant_a, admin, other, title="Stranger's ticket")
    admin_b = admin_of(tenant_b)
    contact_b = make_contact(tenant_b, admin_b, email="ada@customer.example")
    ticket_b = make_ticket(tenant_b, admin_b, contact_b, title="Beta ticket")
    client = portal_client(tenant_a, "ada@customer.example")
    for ticket_id in (theirs.pk, ticket_b.pk, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert client.get(f"/portal/tickets/{ticket_id}/").status_code == 404
        assert client.post(f"/portal/tickets/{ticket_id}/", {"action": "answer", "body": "hi"}).status_code == 404
    with schema_context(tenant_a.schema_name):
        assert not TicketReply.objects.filter(ticket=theirs).exists()
    # The cookie of alpha's portal means nothing on beta's host (the session lives in alpha's schema).
    beta = Client(HTTP_HOST=host(tenant_b))
    beta.cookies[COOKIE] = client.cookies[COOKIE].value
    assert beta.get("/portal/")["Location"].startswith("/portal/login/")


PUBLIC_NAMES = {
    # Pages anyone may open on a tenant host: sign-in, recovery, invitations, public forms, static and docs.
    "access:login",
    "access:password_reset",
    "access:password_reset_done",
    "access:password_reset_complete",
    "access:password_reset_confirm",
    "api-schema",
    "api-docs",
}


def _routes(resolver: URLResolver, prefix: str = "", namespace: str = "") -> list[tuple[str, str]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _routes(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            found.append((prefix + str(entry.pattern), f"{namespace}{entry.name or ''}"))
    return found


def _concrete(route: str, ticket_id: Any) -> str | None:
    if route.startswith("^") or "(?P" in route:
        return None  # regex routes (static, vtiger REST paths): covered by the named API routes
    path = re.sub(r"<uuid:\w+>", str(ticket_id), route)
    path = re.sub(r"<int:\w+>", "1", path)
    path = re.sub(r"<(slug|str):module\w*>", "tickets", path)
    path = re.sub(r"<(?:\w+:)?\w+>", "x", path)
    return "/" + path


def test_matrix_a_portal_user_reaches_no_member_page_or_api(tenant_a, setup):
    ticket = make_ticket(tenant_a, setup["admin"], setup["contact"], title="Portal matrix ticket")
    client = portal_client(tenant_a, "ada@customer.example")
    checked = 0
    leaks = []
    for route, name in _routes(get_resolver("saas.urls_tenant")):
        if route.startswith(("portal/", "f/", "i18n/", "static/")) or name in PUBLIC_NAMES:
            continue
        path = _concrete(route, ticket.pk)
        if path is None:
            continue
        response = client.get(path)
        checked += 1
        body = response.content.decode(errors="replace") if not getattr(response, "streaming", False) else ""
        shows_data = response.status_code == 200 and ("Portal matrix ticket" in body or "ada@customer.example" in body)
        member_only = "api" in path or "m/" in path or "settings" in path
        answered = response.status_code in (200, 201, 204) and bool(name) and not name.startswith("access:")
        if shows_data or (answered and member_only):
            leaks.append((path, response.status_code))
        if response.status_code >= 500:
            leaks.append((path, response.status_code))
    assert checked > 100
    assert leaks == []
    for path in (
        "/api/v1/tickets/",
        f"/api/v1/tickets/{ticket.pk}/",
        "/api/v1/contacts/",
        "/m/tickets/",
        f"/m/tickets/{ticket.pk}/",
        "/settings/portal/",
    ):
        assert client.get(path).status_code in (302, 401, 403, 404), path


def test_invoices_with_payment_status_and_pdf_only_for_the_contact(tenant_a, setup):
    admin, contact = setup["admin"], setup["contact"]
    other = make_contact(tenant_a, admin, last_name="Other")
    with schema_context(tenant_a.schema_name):
        spec = registry.get("invoices")
        mine = record_create(spec=spec, actor=admin, data={"subject": "Support March", "contact": contact.pk})
        theirs = record_create(spec=spec, actor=admin, data={"subject": "Someone else's", "contact": other.pk})
    client = portal_client(tenant_a, "ada@customer.example")
    listing = client.get("/portal/records/invoices/").content.decode()
    assert "Support March" in listing and "Unpaid" in listing
    assert "Someone else" not in listing
    assert "Support March" in client.get("/portal/").content.decode()  # the dashboard's open items
    pdf = client.get(f"/portal/records/invoices/{mine.pk}/pdf/")
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"/portal/records/invoices/{theirs.pk}/pdf/").status_code == 404
    assert client.get("/portal/records/contacts/").status_code == 404  # not a portal section
    assert client.get(f"/portal/records/assets/{mine.pk}/pdf/").status_code == 404


def test_sections_the_admin_turns_off_are_gone(tenant_a, setup):
    with schema_context(tenant_a.schema_name):
        services.settings_save(actor=setup["admin"], data={"sections": ["tickets", "quotes"]})
    client = portal_client(tenant_a, "ada@customer.example")
    assert client.get("/portal/records/quotes/").status_code == 200
    for path in ("/portal/records/invoices/", "/portal/records/assets/", "/portal/documents/", "/portal/faq/"):
        assert client.get(path).status_code == 404, path


def test_portal_settings_screen_is_for_admins_and_validates(tenant_a, setup, client_for, member):
    plain = client_for(tenant_a, member(tenant_a))
    assert plain.get("/settings/portal/").status_code == 403
    admin = client_for(tenant_a, setup["admin"])
    assert admin.get("/settings/portal/").status_code == 200
    bad = admin.post("/settings/portal/", {"action": "settings", "accent_colour": "red", "ticket_scope": "own"})
    assert bad.status_code == 400
    good = admin.post(
        "/settings/portal/",
        {
            "action": "settings",
            "accent_colour": "#AA0000",
            "ticket_scope": "own",
            "title": "Help",
            "enabled": "1",
            "sections": ["faq"],
        },
    )
    assert good.status_code == 302
    with schema_context(tenant_a.schema_name):
        saved = services.settings_get()
        assert (saved.accent_colour, saved.title, saved.sections) == ("#aa0000", "Help", ["tickets", "faq"])
    unknown = admin.post("/settings/portal/", {"action": "invite", "email": "nobody@nowhere.example"})
    assert unknown.status_code == 400
    assert 'style="--portal-accent: #aa0000"' in Client(HTTP_HOST=host(tenant_a)).get("/portal/login/").content.decode()


def test_access_api_invites_lists_and_ends_access(
    tenant_a, tenant_b, admin_of, client_for, member, mailoutbox, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    contact = make_contact(tenant_a, admin, email="api@customer.example")
    api = client_for(tenant_a, admin)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/v1/portal/access/",
            {"contact": str(contact.pk), "support_start": "2026-01-01", "support_end": "2026-12-31", "language": "ru"},
            content_type="application/json",
        )
    assert created.status_code == 201, created.content
    assert created.json()["support_end"] == "2026-12-31"
    assert [m.to for m in mailoutbox] == [["api@customer.example"]]
    bad = api.post(
        "/api/v1/portal/access/",
        {"contact": str(contact.pk), "support_start": "2026-12-31", "support_end": "2026-01-01"},
        content_type="application/json",
    )
    assert (bad.status_code, list(bad.json())) == (400, ["support_end"])
    assert [a["email"] for a in api.get("/api/v1/portal/access/").json()["results"]] == ["api@customer.example"]
    plain = client_for(tenant_a, member(tenant_a))
    assert plain.get("/api/v1/portal/access/").status_code == 403
    assert plain.delete(f"/api/v1/portal/access/{contact.pk}").status_code == 403
    other = client_for(tenant_b, admin_of(tenant_b))
    assert (
        other.post("/api/v1/portal/access/", {"contact": str(contact.pk)}, content_type="application/json").status_code
        == 403
    )
    assert other.get("/api/v1/portal/access/").json()["results"] == []
    assert (
        api.patch("/api/v1/portal/settings", {"accent_colour": "nope"}, content_type="application/json").status_code
        == 400
    )
    assert api.delete(f"/api/v1/portal/access/{contact.pk}").status_code == 204
    with schema_context(tenant_a.schema_name):
        assert PortalAccount.objects.get().active is False


def test_the_company_logo_brands_the_portal(tenant_a, setup, client_for, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from crm_apps.finance.tests.test_finance import PNG

    anonymous = Client(HTTP_HOST=host(tenant_a))
    assert anonymous.get("/portal/logo").status_code == 404
    assert "portal__logo-image" not in anonymous.get("/portal/login/").content.decode()
    admin = client_for(tenant_a, setup["admin"])
    assert admin.post("/api/v1/company/logo", {"file": SimpleUploadedFile("logo.png", PNG)}).status_code in (200, 201)
    assert 'src="/portal/logo"' in anonymous.get("/portal/login/").content.decode()
    served = anonymous.get("/portal/logo")
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == PNG  # type: ignore[attr-defined]
