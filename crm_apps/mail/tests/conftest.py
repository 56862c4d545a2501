from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from crm_apps.mail.models import Mailbox, Security
from crm_apps.mail.tests.servers import PASSWORD, Dovecot, Sink, dovecot_available, free_port
from tenants.models import Tenant


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A private dovecot on a loopback port with its own config and maildirs (users alice, bob, support)."""
    if not dovecot_available():
        if os.environ.get("REQUIRE_DOVECOT") or os.environ.get("CI"):
            pytest.fail("dovecot-imapd is not installed (.ci/run installs it)")
        pytest.skip("dovecot-imapd is not installed: apt-get install dovecot-imapd")
    root = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
    server = Dovecot(root=root, port=free_port())
    server.start(["alice", "bob", "support", "other"])
    yield server
    server.stop()


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink(port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _private_mail_hosts(settings: Any) -> None:
    settings.MAIL_ALLOW_PRIVATE = True


_users = iter(range(1, 10**6))


@pytest.fixture
def make_mailbox(dovecot: Dovecot) -> Callable[..., Mailbox]:
    """make_mailbox(tenant, owner, user="alice", folder=<fresh>, **fields) -> a mailbox on the test dovecot."""
    from crm_apps.mail.mailboxes import mailbox_create

    def make(
        tenant: Tenant, owner: Any, *, user: str = "alice", folder: str | None = None, smtp_port: int = 0, **fields: Any
    ) -> Mailbox:
        folder = folder or f"T{next(_users)}x{os.getpid()}"
        if folder != "INBOX":
            conn = dovecot.imap(user)
            conn.create(folder)
            conn.logout()
        data = {
            "name": fields.pop("name", f"{user} box"),
            "kind": fields.pop("kind", Mailbox.Kind.PERSONAL),
            "email_address": fields.pop("email_address", f"{user}@crm-mail.test"),
            "imap_host": "127.0.0.1",
            "imap_port": dovecot.port,
            "imap_security": Security.NONE,
            "imap_username": user,
            "imap_folder": folder,
            "smtp_host": "127.0.0.1" if smtp_port else "",
            "smtp_port": smtp_port or 25,
            "smtp_security": Security.NONE,
            **fields,
        }
        with tenant_context(tenant):
            return mailbox_create(actor=owner, data=data, passwords={"imap_password": PASSWORD})

    return make
