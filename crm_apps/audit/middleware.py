"""Remembers the client address of each request for the audit trail, and forgets who acted through
whom (an OAuth app) when it ends (see context.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from crm_apps.audit.context import acting_via_context, client_ip_context
from saas.http import client_ip


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with client_ip_context(client_ip(request)), acting_via_context(None):
            return self.get_response(request)
