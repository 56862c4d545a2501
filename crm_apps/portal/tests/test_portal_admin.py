"""Customer portal, what the tenant admin configures: publication per section and per field (enforced in
every page and download), the "Portal access" panel on the contact page (give, resend, disable, status),
the portal's own logo (validated, per tenant) and the contact's language."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.portal import services
from crm_apps.portal.models import PUBLISHABLE, PortalAccount, PortalSettings
from crm_apps.portal.tests.test_portal import host, make_contact, portal_client, setup  # noqa: F401

pytestmark = pytest.mark.django_db

NOTHING: dict[str, list[str]] = {section: [] for section in PUBLISHABLE}
EVERYTHING = {section: list(names) for section, names in PUBLISHABLE.items()}


@pytest.fixture
def records(tenant_a, setup, media_root):  # noqa: F811
    """One record of every section for the contact, each with a value that must stay hidden unless published."""
    from crm_apps.modules.documents.services import Upload, document_create

    admin, contact = setup["admin"], setup["contact"]
    with schema_context(tenant_a.schema_name):
        made: dict[str, Any] = {}
        made["quotes"] = record_create(
            spec=registry.get("quotes"), actor=admin, data={"subject": "QuoteSubjectZ1", "contact": contact.pk}
        )
        made["invoices"] = record_create(
            spec=registry.get("invoices"), actor=admin, data={"subject": "InvoiceSubjectZ2", "contact": contact.pk}
        )
        made["service-contracts"] = record_create(
            spec=registry.get("service-contracts"),
            actor=admin,
            data={"subject": "ContractSubjectZ3", "contact": contact.pk},
        )
        made["assets"] = record_create(
            spec=registry.get("assets"),
            actor=admin,
            data={"name": "AssetNameZ4", "serial_number": "SerialZ5", "contact": contact.pk},
        )
        made["faq"] = record_create(
            spec=registry.get("faq"),
            actor=admin,
            data={
                "question": "Public question?",
                "answer": "<p>Answer.</p>",
                "status": "Published",
                "category": "Troubleshooting",
            },
        )
        made["documents"] = document_create(
            actor=admin,
            data={"title": "Shared handbook", "description": "DocDescriptionZ6"},
            upload=Upload(stream=ContentFile(b"handbook"), name="handbookZ7.txt", size=8),
            links=[("contacts", contact.pk)],
        )
        made["ticket"] = record_create(
            spec=registry.get("tickets"),
            actor=admin,
            data={"title": "Broken", "contact": contact.pk, "solution": "SolutionZ8"},
        )
    return made


HIDDEN = (
    "QuoteSubjectZ1",
    "InvoiceSubjectZ2",
    "ContractSubjectZ3",
    "AssetNameZ4",
    "SerialZ5",
    "DocDescriptionZ6",
    "handbookZ7",
    "SolutionZ8",
    "Troubleshooting",
)


def _all_pages(client: Client, made: dict[str, Any]) -> str:
    pages = [
        "/portal/",
        "/portal/tickets/",
        f"/portal/tickets/{made['ticket'].pk}/",
        "/portal/faq/",
        f"/portal/faq/{made['faq'].pk}/",
        "/portal/documents/",
        "/portal/records/quotes/",
        "/portal/records/invoices/",
        "/portal/records/service-contracts/",
        "/portal/records/assets/",
    ]
    out = []
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        out.append(response.content.decode())
    return "\n".join(out)


def test_unpublished_fields_are_in_no_page_and_no_download(tenant_a, setup, records, media_root):  # noqa: F811
    with schema_context(tenant_a.schema_name):
        services.settings_save(actor=setup["admin"], data={"published_fields": NOTHING})
    client = portal_client(tenant_a, "ada@customer.example")
    text = _all_pages(client, records)
    for value in HIDDEN:
        assert value not in text, value
    # What names a row is still there.
    for name in (records["quotes"].number, records["assets"].number, "Shared handbook", "Public question?"):
        assert name in text
    assert "Invoices to pay" not in text  # the payment status is not published
    for module in ("quotes", "invoices"):
        assert client.get(f"/portal/records/{module}/{records[module].pk}/pdf/").status_code == 404
    assert client.get(f"/portal/documents/{records['documents'].pk}/").status_code == 404

    with schema_context(tenant_a.schema_name):
        services.settings_save(actor=setup["admin"], data={"published_fields": EVERYTHING})
    text = _all_pages(client, records)
    for value in HIDDEN:
        assert value in text, value
    assert "Invoices to pay" in text
    for module in ("quotes", "invoices"):
        assert client.get(f"/portal/records/{module}/{records[module].pk}/pdf/").status_code == 200
    assert client.get(f"/portal/documents/{records['documents'].pk}/").status_code == 200


def test_one_field_at_a_time(tenant_a, setup, records):  # noqa: F811
    with schema_context(tenant_a.schema_name):
        services.settings_save(
            actor=setup["admin"], data={"published_fields": {**NOTHING, "assets": ["serial_number"]}}
        )
    client = portal_client(tenant_a, "ada@customer.example")
    page = client.get("/portal/records/assets/").content.decode()
    assert "SerialZ5" in page and "AssetNameZ4" not in page


def test_a_section_switched_off_is_404_everywhere(tenant_a, setup, records):  # noqa: F811
    with schema_context(tenant_a.schema_name):
        services.settings_save(actor=setup["admin"], data={"sections": ["tickets"], "published_fields": EVERYTHING})
    client = portal_client(tenant_a, "ada@customer.example")
    for path in (
        "/portal/faq/",
        f"/portal/faq/{records['faq'].pk}/",
        "/portal/documents/",
        f"/portal/documents/{records['documents'].pk}/",
        "/portal/records/quotes/",
        f"/portal/records/quotes/{records['quotes'].pk}/pdf/",
        "/portal/records/invoices/",
        f"/portal/records/invoices/{records['invoices'].pk}/pdf/",
        "/portal/records/service-contracts/",
        "/portal/records/assets/",
    ):
        assert client.get(path).status_code == 404, path
    home = client.get("/portal/").content.decode()
    assert "InvoiceSubjectZ2" not in home and "/portal/records/" not in home


def test_publication_is_validated_and_changes_nothing_when_wrong(tenant_a, setup, client_for):  # noqa: F811
    api = client_for(tenant_a, setup["admin"])
    bad = api.patch(
        "/api/v1/portal/settings",
        {"title": "Changed", "published_fields": {"quotes": ["grand_total", "owner"]}},
        content_type="application/json",
    )
    assert (bad.status_code, list(bad.json())) == (400, ["published_fields.quotes"])
    unknown = api.patch(
        "/api/v1/portal/settings", {"published_fields": {"contacts": ["email"]}}, content_type="application/json"
    )
    assert (unknown.status_code, list(unknown.json())) == (400, ["published_fields"])
    good = api.patch(
        "/api/v1/portal/settings", {"published_fields": {"assets": ["status", "name"]}}, content_type="application/json"
    )
    assert good.status_code == 200
    assert good.json()["published_fields"]["assets"] == ["name", "status"]
    assert good.json()["published_fields"]["quotes"] == list(PUBLISHABLE["quotes"])  # untouched: the defaults
    assert good.json()["title"] == ""


def test_the_settings_screen_publishes_per_section_and_field(tenant_a, setup, client_for):  # noqa: F811
    admin = client_for(tenant_a, setup["admin"])
    page = admin.get("/settings/portal/").content.decode()
    assert 'name="published.invoices" value="payment_status"' in page
    saved = admin.post(
        "/settings/portal/",
        {
            "action": "settings",
            "enabled": "1",
            "accent_colour": "#112233",
            "ticket_scope": "own",
            "sections": ["invoices", "documents"],
            "published.invoices": ["balance", "pdf"],
            "published.tickets": ["priority"],
        },
    )
    assert saved.status_code == 302
    with schema_context(tenant_a.schema_name):
        portal = services.settings_get()
        assert portal.sections == ["tickets", "invoices", "documents"]
        assert (portal.published("invoices"), portal.published("tickets"), portal.published("documents")) == (
            ["balance", "pdf"],
            ["priority"],
            [],
        )


# --- The "Portal access" panel on the contact page ----------------------------------------------------


def test_the_contact_page_gives_resends_and_disables_portal_access(
    tenant_a, admin_of, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    contact = make_contact(tenant_a, admin, first_name="Lin", email="lin@customer.example")
    browser = client_for(tenant_a, admin)
    page = browser.get(f"/m/contacts/{contact.pk}/").content.decode()
    assert "Portal access" in page and "Give portal access" in page
    url = f"/settings/portal/contacts/{contact.pk}/"

    bad = browser.post(url, {"action": "invite", "support_start": "2026-05-01", "support_end": "2026-04-01"})
    assert bad.status_code == 400
    assert "cannot come before" in bad.content.decode()
    with schema_context(tenant_a.schema_name):
        assert not PortalAccount.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        given = browser.post(url, {"action": "invite", "support_start": "", "support_end": "", "language": "ru"})
    assert given.status_code == 302 and given["Location"].endswith(f"/m/contacts/{contact.pk}/#portal-access")
    assert [m.to for m in mailoutbox] == [["lin@customer.example"]]
    page = browser.get(f"/m/contacts/{contact.pk}/").content.decode()
    assert 'data-portal-status="invited"' in page

    with django_capture_on_commit_callbacks(execute=True):
        assert browser.post(url, {"action": "resend"}).status_code == 302
    assert len(mailoutbox) == 2 and "set-password" in mailoutbox[1].body

    with schema_context(tenant_a.schema_name):
        account = PortalAccount.objects.get()
        services.password_set(account=account, password="portal-Secret-1984", confirm="portal-Secret-1984")
    assert 'data-portal-status="active"' in browser.get(f"/m/contacts/{contact.pk}/").content.decode()

    assert browser.post(url, {"action": "disable"}).status_code == 302
    assert 'data-portal-status="disabled"' in browser.get(f"/m/contacts/{contact.pk}/").content.decode()
    assert browser.post(url, {"action": "resend"}).status_code == 400  # give access again instead
    with schema_context(tenant_a.schema_name):
        texts = [
            str(e.data.get("changes", ""))
            for e in TimelineEntry.objects.filter(module="contacts", record_id=contact.pk)
        ]
    assert any("Portal access given" in t for t in texts) and any("Portal access ended" in t for t in texts)
    assert any("Portal invitation sent again" in t for t in texts)
    assert browser.post(url, {"action": "explode"}).status_code == 400


def test_status_expired_and_scheduled(tenant_a, setup):  # noqa: F811
    today = timezone.localdate()
    account = setup["account"]
    account.support_end = today - dt.timedelta(days=1)
    assert services.account_status(account) == "expired"
    account.support_end, account.support_start = None, today + dt.timedelta(days=3)
    assert services.account_status(account) == "scheduled"


def test_the_panel_is_for_portal_admins_and_the_contact_access_url_checks_rights(
    tenant_a, tenant_b, admin_of, client_for, member
):
    from crm_apps.access.models import Member  # noqa: F401

    admin = admin_of(tenant_a)
    contact = make_contact(tenant_a, admin, email="who@customer.example")
    plain = client_for(tenant_a, member(tenant_a))
    page = plain.get(f"/m/contacts/{contact.pk}/")
    assert "data-portal-access" not in page.content.decode()
    assert plain.post(f"/settings/portal/contacts/{contact.pk}/", {"action": "invite"}).status_code == 403
    other = client_for(tenant_b, admin_of(tenant_b))
    assert other.post(f"/settings/portal/contacts/{contact.pk}/", {"action": "invite"}).status_code == 403
    assert (
        client_for(tenant_a, admin).post("/settings/portal/contacts/not-an-id/", {"action": "invite"}).status_code
        == 404
    )
    assert client_for(tenant_a, admin).get(f"/settings/portal/contacts/{contact.pk}/").status_code == 405
    with schema_context(tenant_a.schema_name):
        assert not PortalAccount.objects.exists()


# --- Branding: the portal's own logo and the contact's language -------------------------------------------


def test_the_portal_logo_is_validated_and_served_only_by_its_tenant(
    tenant_a,
    tenant_b,
    setup,  # noqa: F811
    admin_of,
    client_for,
    media_root,
):
    from crm_apps.finance.tests.test_finance import PNG

    admin = client_for(tenant_a, setup["admin"])
    not_image = admin.post(
        "/settings/portal/", {"action": "logo", "logo": SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>")}
    )
    assert not_image.status_code == 400
    huge = admin.post(
        "/settings/portal/", {"action": "logo", "logo": SimpleUploadedFile("big.png", PNG + b"\0" * 600_000)}
    )
    assert huge.status_code == 400 and "512 KB" in huge.content.decode()
    with schema_context(tenant_a.schema_name):
        assert services.settings_get().logo_storage_name == ""

    assert (
        admin.post("/settings/portal/", {"action": "logo", "logo": SimpleUploadedFile("l.png", PNG)}).status_code == 302
    )
    anonymous = Client(HTTP_HOST=host(tenant_a))
    assert 'src="/portal/logo"' in anonymous.get("/portal/login/").content.decode()
    served = anonymous.get("/portal/logo")
    assert (served.status_code, served["Content-Type"]) == (200, "image/png")
    assert b"".join(served.streaming_content) == PNG  # type: ignore[attr-defined]
    # Another workspace has no logo of its own: nothing of tenant A's is served there.
    assert Client(HTTP_HOST=host(tenant_b)).get("/portal/logo").status_code == 404

    api = client_for(tenant_a, setup["admin"])
    assert api.put("/api/v1/portal/logo", {}, content_type="application/json").status_code == 400
    assert api.delete("/api/v1/portal/logo").status_code == 204
    assert anonymous.get("/portal/logo").status_code == 404


def test_the_portal_speaks_the_contacts_language(tenant_a, setup):  # noqa: F811
    client = portal_client(tenant_a, "ada@customer.example")
    assert '<html lang="en">' in client.get("/portal/").content.decode()
    with schema_context(tenant_a.schema_name):
        PortalAccount.objects.filter(pk=setup["account"].pk).update(language="ru")
    russian = client.get("/portal/").content.decode()
    assert '<html lang="ru">' in russian
    assert "Открытые заявки" in russian and "Обзор" in russian
    assert (
        client.post("/portal/profile/", {"first_name": "Ada", "last_name": "Customer", "language": "en"}).status_code
        == 302
    )
    assert '<html lang="en">' in client.get("/portal/").content.decode()


def test_settings_row_defaults(tenant_a):
    with schema_context(tenant_a.schema_name):
        fresh = PortalSettings()
    assert fresh.published("tickets") == [] and fresh.published("invoices") == list(PUBLISHABLE["invoices"])
