"""The mail test servers (dovecot, an SMTP sink) for the reply tests."""

from crm_apps.mail.tests.conftest import _private_mail_hosts, dovecot, make_mailbox, sink  # noqa: F401
