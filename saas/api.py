"""API-wide helpers: Django ValidationErrors from services become DRF 400s with field names."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from crm_apps.engine.services import ConflictError

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
