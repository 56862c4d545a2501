"""Review fixes: links bound to their workspace, attachments under the publication settings, reset
throttled and off with the portal, owner notifications in the owner's language, profile notifications,
too many attachments refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from crm_apps.portal import services
from crm_apps.portal.models import PortalAccount
from crm_apps.portal.tests.test_portal import PASSWORD, host, invite, make_contact, with_password

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    contact = make_contact(tenant_a, admin, first_name="Ada", email="ada@customer.example")
    account = with_password(tenant_a, invite(tenant_a, admin, contact))
    return {"admin": admin, "contact": contact, "account": account}


def test_a_set_password_link_from_one_workspace_is_invalid_on_another(tenant_a, tenant_b, setup, admin_of):
    account_a = setup["account"]
    admin_b = admin_of(tenant_b)
    contact_b = make_contact(tenant_b, admin_b, email="victim@beta.example")
    with schema_context(tenant_b.schema_name):
        PortalAccount.objects.filter(pk=account_a.pk).delete()
        account_b = PortalAccount.objects.create(
            pk=account_a.pk, contact_id=contact_b.pk, email="victim@beta.example", epoch=account_a.epoch
        )
    with schema_context(tenant_a.schema_name):
        account_a.refresh_from_db()
        token = services._link(account_a)
    assert (account_b.pk, account_b.epoch) == (account_a.pk, account_a.epoch)
    beta = Client(HTTP_HOST=host(tenant_b))
    assert beta.get(f"/portal/set-password/{token}/").status_code == 400
    taken = beta.post(f"/portal/set-password/{token}/", {"password": PASSWORD, "confirm": PASSWORD})
    assert taken.status_code == 400
    with schema_context(tenant_b.schema_name):
        account_b.refresh_from_db()
        assert account_b.password == "" and services.account_for_link(token) is None
    assert Client(HTTP_HOST=host(tenant_a)).get(f"/portal/set-password/{token}/").status_code == 200


def _ticket_with_attachment(tenant, client) -> tuple[Any, Any]:
    from django.core.files.base import ContentFile

    from crm_apps.modules.documents.models import Document, DocumentLink
    from crm_apps.modules.tickets.models import Ticket

    response = client.post(
        "/portal/tickets/", {"title": "With a file", "attachments": ContentFile(b"log", name="trace.txt")}
    )
    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        ticket = Ticket.objects.get(title="With a file")
        link = DocumentLink.objects.get(module="tickets", record_id=ticket.pk)
        return ticket, Document.objects.get(pk=link.document_id)


def test_ticket_attachments_follow_the_publication_settings_and_never_show_deleted_documents(
    tenant_a, setup, media_root
):
    from django.utils import timezone

    from crm_apps.modules.documents.models import Document
    from crm_apps.portal.tests.test_portal import portal_client

    admin = setup["admin"]
    client = portal_client(tenant_a, "ada@customer.example")
    ticket, document = _ticket_with_attachment(tenant_a, client)
    page, download = f"/portal/tickets/{ticket.pk}/", f"/portal/documents/{document.pk}/"
    assert "trace.txt" in client.get(page).content.decode()
    assert client.get(download).status_code == 200

    def publish(**data: Any) -> None:
        with schema_context(tenant_a.schema_name):
            services.settings_save(actor=admin, data=data)

    publish(published_fields={"documents": ["description", "file_name"]})  # the file itself not published
    assert "trace.txt" not in client.get(page).content.decode()
    assert client.get(download).status_code == 404
    publish(published_fields={"documents": ["file"]}, sections=["tickets", "faq"])  # the section off
    assert "trace.txt" not in client.get(page).content.decode()
    assert client.get(download).status_code == 404
    publish(sections=["tickets", "documents"])
    assert client.get(download).status_code == 200
    with schema_context(tenant_a.schema_name):
        Document.objects.filter(pk=document.pk).update(deleted_at=timezone.now())
    assert "trace.txt" not in client.get(page).content.decode()
    assert client.get(download).status_code == 404


def _forget_reset_counters(tenant, *keys: str) -> None:
    from django.core.cache import cache

    with schema_context(tenant.schema_name):
        cache.delete_many(keys)


def test_password_reset_is_throttled_per_address_and_per_client(
    tenant_a, setup, mailoutbox, django_capture_on_commit_callbacks
):
    ip, other_ip = "203.0.113.7", "203.0.113.8"
    _forget_reset_counters(
        tenant_a, "portal:reset:email:ada@customer.example", f"portal:reset:ip:{ip}", f"portal:reset:ip:{other_ip}"
    )
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(services.RESET_EMAIL_LIMIT + 2):
            answer = Client(HTTP_HOST=host(tenant_a), REMOTE_ADDR=ip).post(
                "/portal/reset/", {"email": "ada@customer.example"}
            )
            assert answer.status_code == 200  # the same answer, throttled or not
    assert len(mailoutbox) == services.RESET_EMAIL_LIMIT
    # Per client: many addresses from one client; past the limit even a real account gets nothing.
    _forget_reset_counters(tenant_a, "portal:reset:email:ada@customer.example")
    mailoutbox.clear()
    client = Client(HTTP_HOST=host(tenant_a), REMOTE_ADDR=other_ip)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(services.RESET_IP_LIMIT):
            client.post("/portal/reset/", {"email": f"nobody{n}@customer.example"})
        assert client.post("/portal/reset/", {"email": "ada@customer.example"}).status_code == 200
    assert mailoutbox == []


def test_password_reset_still_works_with_the_cache_down(
    tenant_a, setup, mailoutbox, django_capture_on_commit_callbacks
):
    from django.test import override_settings

    from saas.settings.cache import CACHES

    down = {
        "default": {
            **CACHES["default"],
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    with override_settings(CACHES=down), django_capture_on_commit_callbacks(execute=True):
        answer = Client(HTTP_HOST=host(tenant_a)).post("/portal/reset/", {"email": "ada@customer.example"})
    assert answer.status_code == 200
    assert [m.to for m in mailoutbox] == [["ada@customer.example"]]


def test_reset_and_set_password_are_refused_while_the_portal_is_off(
    tenant_a, setup, mailoutbox, django_capture_on_commit_callbacks
):
    _forget_reset_counters(tenant_a, "portal:reset:email:ada@customer.example", "portal:reset:ip:127.0.0.1")
    with schema_context(tenant_a.schema_name):
        token = services._link(setup["account"])
        services.settings_save(actor=setup["admin"], data={"enabled": False})
    client = Client(HTTP_HOST=host(tenant_a))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/portal/reset/", {"email": "ada@customer.example"}).status_code == 404
        with schema_context(tenant_a.schema_name):
            services.password_reset_request(email="ada@customer.example", ip="127.0.0.1")
    assert mailoutbox == []
    assert client.get(f"/portal/set-password/{token}/").status_code == 404
    changed = client.post(
        f"/portal/set-password/{token}/", {"password": "Other-pass-1984", "confirm": "Other-pass-1984"}
    )
    assert changed.status_code == 404
    with schema_context(tenant_a.schema_name):
        assert services.account_for_link(token) is None
        services.settings_save(actor=setup["admin"], data={"enabled": True})
        assert services.account_for_link(token) is not None


def _owned_by(tenant, setup, member, language: str) -> Any:
    from crm_apps.access.models import Member
    from crm_apps.modules.contacts.models import Contact

    owner = member(tenant)
    with schema_context(tenant.schema_name):
        Member.objects.filter(pk=owner.pk).update(language=language)
        Contact.objects.filter(pk=setup["contact"].pk).update(owner=owner)
        PortalAccount.objects.filter(pk=setup["account"].pk).update(language="ru")  # the contact reads Russian
    return owner


@pytest.mark.parametrize(("language", "expected"), [("en", "new ticket"), ("ru", "новая заявка")])
def test_the_owner_is_notified_in_their_own_language_not_the_contacts(
    tenant_a, setup, member, django_capture_on_commit_callbacks, language, expected
):
    from crm_apps.notifications.models import Notification
    from crm_apps.portal.tests.test_portal import portal_client

    owner = _owned_by(tenant_a, setup, member, language)
    client = portal_client(tenant_a, "ada@customer.example")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/portal/tickets/", {"title": "Сломалось"}).status_code == 302
    with schema_context(tenant_a.schema_name):
        notification = Notification.objects.get(recipient=owner, kind="portal_activity")
    assert notification.params["what"] == expected


def test_a_profile_change_in_the_portal_notifies_the_contacts_owner(
    tenant_a, setup, member, django_capture_on_commit_callbacks
):
    from crm_apps.notifications.models import Notification
    from crm_apps.portal.tests.test_portal import portal_client

    owner = _owned_by(tenant_a, setup, member, "en")
    client = portal_client(tenant_a, "ada@customer.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/portal/profile/", {"first_name": "Augusta", "last_name": "King", "phone": "+1 555"})
    assert response.status_code in (200, 302), response.content[:300]
    with schema_context(tenant_a.schema_name):
        notification = Notification.objects.get(recipient=owner, kind="portal_activity")
    assert (notification.module, notification.record_id) == ("contacts", setup["contact"].pk)
    assert notification.params["what"] == "profile changed"


def test_more_than_five_attachments_are_refused_with_a_clear_error_and_nothing_is_created(tenant_a, setup, media_root):
    from django.core.files.base import ContentFile

    from crm_apps.modules.documents.models import Document
    from crm_apps.modules.tickets.models import Ticket
    from crm_apps.portal.tests.test_portal import portal_client

    client = portal_client(tenant_a, "ada@customer.example")
    files = [ContentFile(b"x", name=f"f{n}.txt") for n in range(6)]
    response = client.post("/portal/tickets/", {"title": "Many files", "attachments": files})
    assert response.status_code == 400
    assert "Attach at most 5 files at a time." in response.content.decode()
    with schema_context(tenant_a.schema_name):
        assert not Ticket.objects.filter(title="Many files").exists()
        assert Document.objects.count() == 0
    ok = client.post(
        "/portal/tickets/",
        {"title": "Five files", "attachments": [ContentFile(b"x", name=f"g{n}.txt") for n in range(5)]},
    )
    assert ok.status_code == 302
    with schema_context(tenant_a.schema_name):
        assert Document.objects.count() == 5


def test_a_russian_contacts_action_reaches_an_english_owner_in_english(
    tenant_a, setup, member, django_capture_on_commit_callbacks
):
    """As in the portal's views: the contact's language is active while their action commits."""
    from django.utils import translation

    from crm_apps.modules.tickets.models import Ticket
    from crm_apps.notifications.models import Notification

    owner = _owned_by(tenant_a, setup, member, "en")
    with schema_context(tenant_a.schema_name):
        account = PortalAccount.objects.get(pk=setup["account"].pk)
        with translation.override("ru"), django_capture_on_commit_callbacks(execute=True):
            ticket = services.ticket_open(account=account, data={"title": "Не работает"})
            services.ticket_status_set(account=account, ticket=Ticket.objects.get(pk=ticket.pk), close=True)
        whats = sorted(Notification.objects.filter(recipient=owner).values_list("params__what", flat=True))
    assert whats == ["closed", "new ticket"]
