"""POST /billing/stripe/webhook (the platform account's events) and /billing/stripe/connect-webhook
(events of partners' connected accounts, signed with the Connect endpoint's own secret) on the bare
domain: verify Stripe's signature, store the event once, process it in a Celery task. Anything
unverified is refused with 400 and nothing is stored."""

from __future__ import annotations

import json
import logging
import time

import stripe
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.events import BadEvent, stripe_event_record

logger = logging.getLogger(__name__)


def _refuse(reason: str) -> JsonResponse:
    logger.warning("Stripe webhook refused: %s", reason)
    return JsonResponse({"detail": reason}, status=400)


def signature_timestamp(header: str) -> int | None:
    for part in header.split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            return int(value)
    return None


def _receive(request: HttpRequest, secret: str, *, connect: bool) -> JsonResponse:
    if not secret:
        return _refuse("Webhooks are not configured.")
    header = request.headers.get("Stripe-Signature", "")
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
    try:
        payload = request.body.decode("utf-8")
        # The SDK checks the HMAC and refuses timestamps older than the tolerance...
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
    except (UnicodeDecodeError, stripe.SignatureVerificationError):
        return _refuse("Invalid signature.")
    # ...and we also refuse ones from the future, so a leaked signed body cannot be replayed later.
    timestamp = signature_timestamp(header)
    if timestamp is None or timestamp > time.time() + tolerance:
        return _refuse("Invalid signature timestamp.")
    try:
        data = json.loads(payload)
        # Events about a connected account name it in `account`; the Connect endpoint gets only those.
        if connect and not (isinstance(data, dict) and data.get("account")):
            raise BadEvent("account")
        _event, created = stripe_event_record(payload=data)
    except (ValueError, BadEvent):
        return _refuse("Not a Stripe event.")
    return JsonResponse({"received": True, "duplicate": not created})


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    return _receive(request, settings.STRIPE_WEBHOOK_SECRET, connect=False)


@csrf_exempt
@require_POST
def stripe_connect_webhook(request: HttpRequest) -> JsonResponse:
    return _receive(request, settings.STRIPE_CONNECT_WEBHOOK_SECRET, connect=True)
