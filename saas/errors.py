"""The server-error view of every URLconf: an unreachable database is a 503 with Retry-After (the
client may try again in a moment: PostgreSQL is restarting or failing over), anything else the usual
500 page. Rendered without a request context, so it never needs the database it reports on. A full
disk for uploads (saas/storage.py) is a 507 saying that nothing was saved."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views import defaults

from saas.storage import StorageFull

RETRY_AFTER_SECONDS = 5


def database_unavailable(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(("/api/", "/restapi/")) or "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse(
            {"detail": _("The service is briefly unavailable. Please try again in a few seconds.")}, status=503
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def storage_full(request: HttpRequest) -> HttpResponse:
    message = _("There is no room to store this file right now, so nothing was saved. Please try again later.")
    if request.path.startswith(("/api/", "/restapi/")) or "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"detail": message, "code": "storage_full"}, status=507)
    else:
        response = HttpResponse(render_to_string("507.html", {"message": message}), status=507)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest, template_name: str = defaults.ERROR_500_TEMPLATE_NAME) -> HttpResponse:
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        return database_unavailable(request)
    if isinstance(error, StorageFull):
        return storage_full(request)
    return defaults.server_error(request, template_name)
