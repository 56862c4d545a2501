"""The telephony webhook (signed by the provider), the secret rotation and the incoming-call popup feed."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.engine.api.views import TokenRateThrottle
from crm_apps.modules.calls.live import SlotStream, ringing_stream, stream_slot_take
from crm_apps.modules.calls.models import TelephonySettings
from crm_apps.modules.calls.providers import telephony_provider
from crm_apps.modules.calls.selectors import ringing_calls
from crm_apps.modules.calls.services import DIRECTIONS, STATUSES, CallEvent, telephony_event_apply
from crm_apps.modules.calls.settings_store import telephony_secret_rotate
from saas.openapi import json_object_view
from saas.webhooks import signature_header_valid

SIGNATURE_HEADER = "HTTP_X_SIGNATURE"
PROVIDER_HEADER = "HTTP_X_TELEPHONY_PROVIDER"
MAX_BODY = 64 * 1024
SIGNATURE_TOLERANCE = 300  # seconds a contributed provider's `t=` may be old or ahead


class TelephonyEventSerializer(serializers.Serializer[Any]):
    call_id = serializers.CharField(max_length=200)
    status = serializers.ChoiceField(choices=sorted(STATUSES))
    timestamp = serializers.DateTimeField()
    direction = serializers.ChoiceField(choices=sorted(DIRECTIONS), required=False, default="inbound")
    # "from" is a Python keyword: declared below under its wire name.
    to = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    extension = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    duration = serializers.IntegerField(min_value=0, max_value=7 * 24 * 3600, required=False, allow_null=True)
    recording_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
        return fields

    def event(self) -> CallEvent:
        data = self.validated_data
        return CallEvent(
            call_id=data["call_id"],
            status=data["status"],
            timestamp=data["timestamp"],
            direction=data["direction"],
            from_number=data["from"],
            to_number=data["to"],
            extension=data["extension"],
            duration=data.get("duration"),
            recording_url=data["recording_url"],
        )


def signature_valid(*, body: bytes, header: str, secret: str) -> bool:
    """`header` is "sha256=<hex HMAC-SHA256 of body keyed with secret>"; compared in constant time."""
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[len("sha256=") :].strip().lower().encode())


@json_object_view()
class TelephonyEventsView(APIView):
    """POST /api/v1/telephony/events: one provider event, signed with the tenant's webhook secret, or
    with a contributed provider's secret when `X-Telephony-Provider` names one (providers.py)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        body = request._request.body
        provider_key = request.META.get(PROVIDER_HEADER, "").strip()
        source = ""
        provider = None
        if provider_key:
            provider = telephony_provider(provider_key)  # unknown, uninstalled or suspended: no secret
            secret = provider.secret if provider is not None else ""
            source = provider.label if provider is not None else ""
        else:
            secret = TelephonySettings.objects.order_by("pk").values_list("webhook_secret", flat=True).first() or ""
        header = request.META.get(SIGNATURE_HEADER, "")
        if provider_key and header.startswith("t="):  # a contributed provider's timestamped signature
            signed = signature_header_valid(secret, body, header, tolerance=SIGNATURE_TOLERANCE)
        else:
            signed = signature_valid(body=body, header=header, secret=secret)
        if not signed:
            return Response({"detail": _("Missing or wrong signature.")}, status=status.HTTP_401_UNAUTHORIZED)
        if provider is not None and provider.budget is not None:
            allowed, wait = provider.budget()
            if not allowed:
                return Response(
                    {"detail": _("This provider sent too many events; try again in %(s)d seconds.") % {"s": wait}},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                    headers={"Retry-After": str(wait)},
                )
        if len(body) > MAX_BODY:
            return Response({"detail": _("The event is too large.")}, status=status.HTTP_400_BAD_REQUEST)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return Response({"non_field_errors": [_("Send a JSON object.")]}, status=status.HTTP_400_BAD_REQUEST)
        if not isinstance(payload, dict):
            return Response({"non_field_errors": [_("Send a JSON object.")]}, status=status.HTTP_400_BAD_REQUEST)
        serializer = TelephonyEventSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        call, created = telephony_event_apply(event=serializer.event(), source=source, provider=provider_key)
        return Response(
            {"id": str(call.pk), "number": call.number, "status": call.status, "created": created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@json_object_view()
class TelephonySecretView(APIView):
    """POST /api/v1/telephony/secret (administrators): a new webhook secret, shown once; the old one stops working."""

    def post(self, request: Request) -> Response:
        member = request_member(request)
        try:
            secret = telephony_secret_rotate(actor=member)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied from exc
        return Response({"secret": secret}, status=status.HTTP_201_CREATED)


def _popup_labels() -> dict[str, str]:
    return {
        "title": _("Incoming call"),
        "unknown": _("Unknown number"),
        "open": _("Open call"),
        "dismiss": _("Dismiss"),
    }


class EventStreamRenderer(BaseRenderer):
    """Lets DRF accept `Accept: text/event-stream` (what EventSource sends); errors are sent as JSON text."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return json.dumps(data).encode()


class RingingStreamView(APIView):
    """GET /api/v1/telephony/ringing/stream: the member's ringing calls as server-sent events (`event:
    ringing`, the same JSON as /telephony/ringing), pushed when a provider event changes one of their calls
    (Redis pub/sub on the member's own channel, see live.py); heartbeats; the stream ends after
    CALLS_SSE_LIFETIME seconds and EventSource reconnects. 503 when the process's CALLS_SSE_MAX_STREAMS
    are all open (the page then polls)."""

    throttle_classes = [TokenRateThrottle]
    renderer_classes = [EventStreamRenderer, JSONRenderer]

    @extend_schema(
        responses={
            (200, "text/event-stream"): OpenApiTypes.STR,
            (503, "application/json"): OpenApiTypes.OBJECT,
        },
        description=(
            "Server-sent events: `event: ringing` with the JSON of GET /api/v1/telephony/ringing, again on "
            "every change of one of the member's calls; comment heartbeats; `event: bye` at the end of the "
            "stream's lifetime (EventSource reconnects). 503 when the server's stream slots are taken: poll "
            "GET /api/v1/telephony/ringing instead."
        ),
    )
    def get(self, request: Request) -> StreamingHttpResponse | Response:
        member = request_member(request)
        if not request.META.get("wsgi.multithread", False):
            # A server process that handles one request at a time (gunicorn's sync workers, the
            # deployment default) would be held whole for the stream's lifetime: the page polls instead.
            return Response(
                {"detail": _("Live updates are busy; the page checks for calls every few seconds instead.")},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "60"},
            )
        if not stream_slot_take():
            # Every stream slot of this server process is busy: the page polls /telephony/ringing instead.
            return Response(
                {"detail": _("Live updates are busy; the page checks for calls every few seconds instead.")},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "60"},
            )
        body = SlotStream(ringing_stream(member=member, labels=_popup_labels()))
        response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
        response["Cache-Control"] = "no-cache, no-store"
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response


@json_object_view()
class RingingCallsView(APIView):
    """GET /api/v1/telephony/ringing: the calls ringing at the member's extension now, with the records
    their number matched (the incoming-call popup polls it)."""

    # Each open page polls this every few seconds: a screen's helper, not use of the API, so it does not
    # spend the plan's daily API quota (TenantDailyQuotaThrottle, the default); the per-token/per-member
    # rate limit still applies.
    throttle_classes = [TokenRateThrottle]

    def get(self, request: Request) -> Response:
        return Response({"results": ringing_calls(member=request_member(request)), "labels": _popup_labels()})
