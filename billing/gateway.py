"""The only module that talks to Stripe: thin functions over the official SDK.

Configured from settings (which read the environment): no `STRIPE_SECRET_KEY`, no payments, and
every function raises `PaymentsNotConfigured`. Functions take and return plain values and dicts
(Stripe objects as `to_dict()`), so callers handle API answers and webhook payloads alike.
Writes that must not happen twice carry an idempotency key derived from our own row ids.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)


class PaymentsNotConfigured(Exception):
    """No Stripe key in the environment."""


class GatewayError(Exception):
    """Stripe refused or could not be reached; the message is safe to show to an operator. `answered`:
    Stripe's answer arrived (an error), so the request's outcome is known; False when the connection
    failed and the request may or may not have been carried out."""

    def __init__(self, message: str, *, answered: bool = False) -> None:
        super().__init__(message)
        self.answered = answered


_clients: dict[tuple[str, str, int], stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    if not is_configured():
        raise PaymentsNotConfigured
    key = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = stripe.StripeClient(
                settings.STRIPE_SECRET_KEY,
                base_addresses={"api": settings.STRIPE_API_BASE},
                max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
            )
            _clients[key] = client
    return client


def _call(what: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        result = fn(*args, **kwargs)
    except stripe.StripeError as exc:
        logger.warning("Stripe %s failed: %s", what, exc.user_message or exc.__class__.__name__)
        raise GatewayError(
            exc.user_message or f"Stripe {what} failed ({exc.__class__.__name__}).",
            answered=exc.http_status is not None,
        ) from exc
    return dict(result.to_dict())


def _options(idempotency_key: str | None) -> dict[str, Any]:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


# Plans and prices -----------------------------------------------------------------------------


def product_create(*, name: str, description: str, active: bool, metadata: dict[str, str], idempotency_key: str) -> str:
    """Create the Stripe Product of a plan; returns its id."""
    params: dict[str, Any] = {"name": name, "active": active, "metadata": metadata}
    if description:
        params["description"] = description
    product = _call("product create", _client().v1.products.create, params=params, options=_options(idempotency_key))
    return str(product["id"])


def product_update(*, product_id: str, name: str, description: str, active: bool, metadata: dict[str, str]) -> None:
    params: dict[str, Any] = {"name": name, "active": active, "metadata": metadata, "description": description}
    _call("product update", _client().v1.products.update, product_id, params=params)


def price_create(
    *,
    product_id: str,
    currency: str,
    unit_amount: int,
    interval: str,
    lookup_key: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> str:
    """Create a recurring Stripe Price; the lookup key moves to it from the price it replaces."""
    params: dict[str, Any] = {
        "product": product_id,
        "currency": currency,
        "unit_amount": unit_amount,
        "recurring": {"interval": interval},
        "lookup_key": lookup_key,
        "transfer_lookup_key": True,
        "metadata": metadata,
    }
    price = _call("price create", _client().v1.prices.create, params=params, options=_options(idempotency_key))
    return str(price["id"])


def price_deactivate(*, price_id: str) -> None:
    """No new subscriptions on this Price; those on it stay until moved."""
    _call("price update", _client().v1.prices.update, price_id, params={"active": False})


# Customers, Checkout and the customer portal --------------------------------------------------


def customer_create(*, name: str, email: str, metadata: dict[str, str], idempotency_key: str) -> str:
    params: dict[str, Any] = {"name": name, "metadata": metadata}
    if email:
        params["email"] = email
    customer = _call("customer create", _client().v1.customers.create, params=params, options=_options(idempotency_key))
    return str(customer["id"])


def checkout_session_create(
    *,
    customer_id: str,
    client_reference_id: str,
    line_items: list[dict[str, Any]],
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    trial_end: int | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """A Stripe Checkout session in subscription mode (card entry happens on Stripe's page)."""
    subscription_data: dict[str, Any] = {"metadata": metadata}
    if trial_end is not None:
        subscription_data["trial_end"] = trial_end
    params: dict[str, Any] = {
        "mode": "subscription",
        "customer": customer_id,
        "client_reference_id": client_reference_id,
        "line_items": line_items,
        "metadata": metadata,
        "subscription_data": subscription_data,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    return _call(
        "checkout session create",
        _client().v1.checkout.sessions.create,
        params=params,
        options=_options(idempotency_key),
    )


def portal_session_create(*, customer_id: str, return_url: str) -> str:
    """A Stripe customer portal session (payment methods, billing details); returns its URL."""
    session = _call(
        "portal session create",
        _client().v1.billing_portal.sessions.create,
        params={"customer": customer_id, "return_url": return_url},
    )
    return str(session["url"])


# Subscriptions --------------------------------------------------------------------------------


def subscription_retrieve(*, subscription_id: str) -> dict[str, Any]:
    return _call("subscription retrieve", _client().v1.subscriptions.retrieve, subscription_id)


def subscription_items_update(
    *, subscription_id: str, items: list[dict[str, Any]], idempotency_key: str | None = None
) -> dict[str, Any]:
    """Change prices or quantities of a subscription's items; Stripe prorates the difference."""
    return _call(
        "subscription update",
        _client().v1.subscriptions.update,
        subscription_id,
        params={"items": items, "proration_behavior": "create_prorations"},
        options=_options(idempotency_key),
    )


def invoice_paid_by(*, payment_intent_id: str) -> str:
    """The id of the invoice a PaymentIntent paid ('' when none): Stripe's charges and payment intents
    no longer name their invoice (API 2025-03-31), the invoice payments do."""
    found = _call(
        "invoice payment list",
        _client().v1.invoice_payments.list,
        params={"payment": {"type": "payment_intent", "payment_intent": payment_intent_id}, "limit": 1},
    )
    data = found.get("data") or []
    invoice = data[0].get("invoice") if data else ""
    return str(invoice.get("id") if isinstance(invoice, dict) else invoice or "")


def subscription_cancel_at_period_end(*, subscription_id: str, cancel: bool) -> dict[str, Any]:
    """Cancel at the end of the paid period (True) or take that back (False)."""
    return _call(
        "subscription update",
        _client().v1.subscriptions.update,
        subscription_id,
        params={"cancel_at_period_end": cancel},
    )


# Stripe Connect (partners' Express accounts) ---------------------------------------------------


def connect_account_create(*, email: str, metadata: dict[str, str], idempotency_key: str) -> dict[str, Any]:
    """An Express connected account for a partner (card payments and transfers requested)."""
    params: dict[str, Any] = {
        "type": "express",
        "metadata": metadata,
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
    }
    if email:
        params["email"] = email
    return _call("account create", _client().v1.accounts.create, params=params, options=_options(idempotency_key))


def connect_account_retrieve(*, account_id: str) -> dict[str, Any]:
    return _call("account retrieve", _client().v1.accounts.retrieve, account_id)


def connect_account_link_create(*, account_id: str, refresh_url: str, return_url: str) -> str:
    """A single-use Stripe-hosted onboarding link for a connected account; returns its URL."""
    link = _call(
        "account link create",
        _client().v1.account_links.create,
        params={
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        },
    )
    return str(link["url"])


# Extension sales: destination charges to a partner's connected account -----------------------------


def extension_checkout_session_create(
    *,
    mode: str,
    line_item: dict[str, Any],
    destination: str,
    metadata: dict[str, str],
    client_reference_id: str,
    success_url: str,
    cancel_url: str,
    application_fee_amount: int | None = None,
    application_fee_percent: str | None = None,
    trial_end: int | None = None,
    customer_email: str = "",
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Checkout for an extension: the partner's account receives the money (transfer_data.destination)
    minus the platform's application fee - an amount for one-time payments, a percentage for
    subscriptions."""
    params: dict[str, Any] = {
        "mode": mode,
        "line_items": [line_item],
        "metadata": metadata,
        "client_reference_id": client_reference_id,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if customer_email:
        params["customer_email"] = customer_email
    if mode == "payment":
        params["payment_intent_data"] = {
            "application_fee_amount": application_fee_amount or 0,
            "transfer_data": {"destination": destination},
            "metadata": metadata,
        }
    else:
        subscription_data: dict[str, Any] = {
            "application_fee_percent": application_fee_percent,
            "transfer_data": {"destination": destination},
            "metadata": metadata,
        }
        if trial_end is not None:
            subscription_data["trial_end"] = trial_end
        params["subscription_data"] = subscription_data
    return _call(
        "checkout session create",
        _client().v1.checkout.sessions.create,
        params=params,
        options=_options(idempotency_key),
    )
