"""API-wide helpers: Django ValidationErrors from services become DRF 400s with field names."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from billing.api import ApiQuotaExceeded
    from billing.entitlements import PlanLimitReached
    from crm_apps.access.visibility import FieldPermissionDenied
    from crm_apps.engine.services import ConflictError

    if isinstance(exc, ApiQuotaExceeded):
        return Response(
            {"detail": exc.message, "code": "api_quota", "upgrade_url": "/settings/billing/"},
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, PlanLimitReached):
        return Response(
            {"detail": exc.text, "code": "plan_limit", "limit": exc.limit, "upgrade_url": exc.upgrade_url},
            status=403,
        )
    if isinstance(exc, FieldPermissionDenied):
        api_names = list(exc.fields)  # custom fields as "custom.<key>", like validation errors
        return Response(
            {
                "detail": _("You may not change these fields: %(fields)s.") % {"fields": ", ".join(api_names)},
                "fields": {name: [_("You may not change this field.")] for name in api_names},
            },
            status=403,
        )
    if isinstance(exc, ConflictError):
        return Response({"detail": _("This record was changed by someone else; reload it and try again.")}, status=409)
    if isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail: Any = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        else:
            detail = {"non_field_errors": [str(m) for m in exc.messages]}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)


def _text_problems(value: Any, path: str = "") -> dict[str, list[str]]:
    """Paths (a.b.0) of strings PostgreSQL cannot store: NUL characters or lone surrogates."""
    problems: dict[str, list[str]] = {}
    if isinstance(value, str):
        from tenants.services import text_problem

        problem = text_problem(value)
        if problem:
            problems[path or "non_field_errors"] = [problem]
    elif isinstance(value, dict):
        from tenants.services import text_problem

        for key, item in value.items():
            key_text = str(key)
            if isinstance(key, str) and text_problem(key_text):
                problems[path or "non_field_errors"] = [_("This text contains invalid characters.")]
                continue
            problems.update(_text_problems(item, f"{path}.{key_text}" if path else key_text))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.update(_text_problems(item, f"{path}.{index}" if path else str(index)))
    return problems


class StrictJSONParser(JSONParser):
    """JSON bodies with text PostgreSQL cannot store (NUL, lone surrogates) are a 400 naming each field."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        problems = _text_problems(data)
        if problems:
            raise exceptions.ValidationError(problems)
        return data
