"""The answer of an FAQ entry shown as formatted text on its page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.safestring import mark_safe

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.fieldaccess import field_rules


def answer_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    if not field_rules(actor=member, spec=registry.get("faq")).shows("answer"):
        return {}
    # Stored sanitised (faq_answer_clean runs on every write).
    return {"answer": mark_safe(record.answer)}  # noqa: S308
