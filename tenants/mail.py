"""Render an email now (in the current language) and send it from a Celery worker after commit."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def mail_enqueue(*, to: list[str], subject: str, template: str, context: dict[str, Any]) -> None:
    """Queue a plain-text email; nothing is sent if the surrounding transaction rolls back.

    A broker outage is logged, never turned into a failed request: the change the email reports
    has already been committed.
    """
    from tenants.tasks import mail_send_task

    body = render_to_string(template, context)
    subject = " ".join(subject.split())

    def send() -> None:
        try:
            mail_send_task.delay(to, subject, body)
        except Exception:
            logger.exception("could not queue an email (broker unavailable?)")

    transaction.on_commit(send)
