"""Render an email now (in the current language) and send it from a Celery worker after commit."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.template.loader import render_to_string


def mail_enqueue(*, to: list[str], subject: str, template: str, context: dict[str, Any]) -> None:
    """Queue a plain-text email; nothing is sent if the surrounding transaction rolls back."""
    from tenants.tasks import mail_send_task

    body = render_to_string(template, context)
    subject = " ".join(subject.split())
    transaction.on_commit(lambda: mail_send_task.delay(to, subject, body))
