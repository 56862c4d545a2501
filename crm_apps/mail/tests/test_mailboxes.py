"""Mailboxes: tested on save with clear errors, credentials encrypted and never shown, private hosts only
when allowed, key rotation, and who may manage which mailbox."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django_tenants.utils import tenant_context

from crm_apps.mail import crypto
from crm_apps.mail.mailboxes import mailbox_create
from crm_apps.mail.models import Mailbox, Security
from crm_apps.mail.tests.servers import PASSWORD


def _data(dovecot: Any, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Mine",
        "email_address": "alice@crm-mail.test",
        "imap_host": "127.0.0.1",
        "imap_port": dovecot.port,
        "imap_security": Security.NONE,
        "imap_username": "alice",
        "imap_folder": "INBOX",
        **extra,
    }


def test_credentials_are_encrypted_at_rest_and_never_in_responses_or_logs(
    tenant_a, member, dovecot, client_for, caplog
):
    owner = member(tenant_a)
    caplog.set_level(logging.DEBUG)
    client = client_for(tenant_a, owner)
    response = client.post(
        "/api/v1/mailboxes/", {**_data(dovecot), "imap_password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert PASSWORD not in response.content.decode() and "secret" not in response.json()
    with tenant_context(tenant_a):
        mailbox = Mailbox.objects.get(pk=response.json()["id"])
        assert PASSWORD not in mailbox.secret and mailbox.secret.startswith("gAAAA")
        assert crypto.decrypt(mailbox.secret) == {"imap_password": PASSWORD}
    for url in (f"/api/v1/mailboxes/{mailbox.pk}/", f"/api/v1/mailboxes/{mailbox.pk}/status", "/api/v1/mailboxes/"):
        assert PASSWORD not in client.get(url).content.decode()
    # a failing test on save names the problem, not the password
    bad = client.post(
        "/api/v1/mailboxes/", {**_data(dovecot), "imap_password": PASSWORD + "x"}, content_type="application/json"
    )
    assert bad.status_code == 400 and bad.json()["code"] == ["auth"]
    assert PASSWORD not in bad.content.decode()
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"imap_port": 1}, "unreachable"),
        ({"imap_host": "no-such-host.invalid"}, "unreachable"),
        ({"imap_security": Security.STARTTLS}, "tls"),
        ({"imap_security": Security.SSL}, "tls"),
    ],
)
def test_connection_problems_are_named_on_save(tenant_a, member, dovecot, change, code):
    owner = member(tenant_a)
    with tenant_context(tenant_a), pytest.raises(ValidationError) as caught:
        mailbox_create(actor=owner, data=_data(dovecot, **change), passwords={"imap_password": PASSWORD})
    assert caught.value.message_dict["code"] == [code]
    with tenant_context(tenant_a):
        assert not Mailbox.objects.filter(owner=owner).exists()


def test_private_hosts_need_the_setting(tenant_a, member, dovecot, settings):
    settings.MAIL_ALLOW_PRIVATE = False
    owner = member(tenant_a)
    with tenant_context(tenant_a), pytest.raises(ValidationError) as caught:
        mailbox_create(
            actor=owner, data=_data(dovecot, imap_security=Security.SSL), passwords={"imap_password": PASSWORD}
        )
    assert caught.value.message_dict["code"] == ["unsafe"]
    with tenant_context(tenant_a), pytest.raises(ValidationError) as caught:
        mailbox_create(actor=owner, data=_data(dovecot), passwords={"imap_password": PASSWORD})
    assert caught.value.message_dict["code"] == ["unsafe"]  # unencrypted: refused as well


def test_key_rotation_reencrypts_with_the_new_key(tenant_a, member, dovecot, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MAIL_ENCRYPTION_KEYS = old
    owner = member(tenant_a)
    with tenant_context(tenant_a):
        mailbox = mailbox_create(actor=owner, data=_data(dovecot), passwords={"imap_password": PASSWORD})
    settings.MAIL_ENCRYPTION_KEYS = f"{new},{old}"
    call_command("mail_keys_rotate")
    settings.MAIL_ENCRYPTION_KEYS = new
    with tenant_context(tenant_a):
        mailbox.refresh_from_db()
        assert crypto.decrypt(mailbox.secret) == {"imap_password": PASSWORD}
    settings.MAIL_ENCRYPTION_KEYS = old
    with tenant_context(tenant_a), pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(Mailbox.objects.get(pk=mailbox.pk).secret)


def test_shared_mailboxes_are_for_administrators(tenant_a, member, admin_of, dovecot):
    someone = member(tenant_a)
    with tenant_context(tenant_a), pytest.raises(PermissionDenied):
        mailbox_create(actor=someone, data=_data(dovecot, kind="shared"), passwords={"imap_password": PASSWORD})
    with tenant_context(tenant_a):
        shared = mailbox_create(
            actor=admin_of(tenant_a),
            data=_data(dovecot, kind="shared", is_default=True),
            passwords={"imap_password": PASSWORD},
        )
        assert shared.kind == "shared" and shared.is_default


def test_mailbox_api_matrix_and_cross_tenant(
    tenant_a, tenant_b, member, make_mailbox, client_for, django_capture_on_commit_callbacks
):
    owner, other = member(tenant_a), member(tenant_a)
    mailbox = make_mailbox(tenant_a, owner)
    url = f"/api/v1/mailboxes/{mailbox.pk}/"
    assert client_for(tenant_a).get(url).status_code in (401, 403)
    assert client_for(tenant_a, other).get(url).status_code == 404
    assert client_for(tenant_a, other).delete(url).status_code == 404
    assert client_for(tenant_b, member(tenant_b)).get(url).status_code == 404
    assert client_for(tenant_b, member(tenant_b)).post(url + "sync").status_code == 404
    mine = client_for(tenant_a, owner)
    status = mine.get(url + "status").json()
    assert set(status) >= {"last_sync_at", "messages_fetched", "backlog", "last_error", "last_error_at", "status"}
    with django_capture_on_commit_callbacks(execute=True):
        synced = mine.post(url + "sync")
    assert synced.status_code == 202
    assert mine.get(url + "status").json()["last_sync_at"] is not None
    assert (
        mine.patch(url, {"name": "Renamed", "test": False}, content_type="application/json").json()["name"] == "Renamed"
    )
    assert mine.delete(url).status_code == 204
    with tenant_context(tenant_a):
        assert not Mailbox.objects.filter(pk=mailbox.pk).exists()


def test_an_error_report_from_a_sync_never_carries_the_password(tenant_a, member, make_mailbox, monkeypatch):
    import imaplib

    import sentry_sdk

    from crm_apps.mail.sync import mailbox_sync
    from saas.sentry import sentry_init
    from saas.tests.test_sentry import Captured

    captured = Captured()
    original_init = sentry_sdk.init
    monkeypatch.setattr(sentry_sdk, "init", lambda *a, **kw: original_init(*a, transport=captured, **kw))
    mailbox = make_mailbox(tenant_a, member(tenant_a))

    def broken_select(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("unexpected failure after login")

    monkeypatch.setattr(imaplib.IMAP4, "select", broken_select)
    sentry_init(dsn="https://public@sentry.example.com/1", environment="test")
    try:
        with tenant_context(tenant_a):
            try:
                mailbox_sync(mailbox_id=str(mailbox.pk))
            except RuntimeError:
                sentry_sdk.capture_exception()
        sentry_sdk.flush()
    finally:
        sentry_sdk.init()
    events = [item.payload.json for env in captured.envelopes for item in env.items if item.type == "event"]
    assert len(events) == 1
    assert PASSWORD not in str(events) and "unexpected failure after login" in str(events)
