"""Process-level middleware: health checks that must run before tenant routing; API responses released once
sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.response import Response

from tenants.runtime import use_public_schema


class HealthCheckMiddleware:
    """`/healthz` (process up) and `/readyz` (database and Redis reachable) on every host.

    Runs before host validation and tenant routing so that probes addressed to a pod IP work.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            return readiness()
        return self.get_response(request)


def readiness() -> JsonResponse:
    from django.core.cache import cache

    checks: dict[str, str] = {}
    try:
        use_public_schema()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # readiness must report, not raise
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        client = cache._cache.get_client()  # type: ignore[attr-defined]
        client.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", **checks}, status=200 if ok else 503)


class ReleaseApiResponseMiddleware:
    """Lets an API response's data be freed as soon as the response is sent (issue 25).

    Django REST framework links a response, its view and its request in reference cycles: the renderer context
    names the response itself and the view, the view keeps the response, the request's parser context names the
    request and the view. Whatever the response carries (a report run's 434 rows: ~4,000 lists and dicts) then
    waits for the garbage collector instead of going with the response, and in a gunicorn worker those
    collections came every third of a second, 20-65 ms each, inside requests. Once the response is rendered,
    nothing reads those links: they are cut, and the response, its view and request are freed by reference
    counting. `response.data` stays (tests read it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_template_response(self, request: HttpRequest, response: Any) -> Any:
        if isinstance(response, Response):
            response.add_post_render_callback(_release)
        return response


def _release(response: Any) -> None:
    context = getattr(response, "renderer_context", None)
    if not context:
        return
    view, api_request = context.get("view"), context.get("request")
    if view is not None and vars(view).get("response") is response:
        del view.response
    parser_context = getattr(api_request, "parser_context", None)
    if isinstance(parser_context, dict):
        parser_context.clear()
    context.clear()
