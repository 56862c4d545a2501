"""Money in templates: amounts are stored in the currency's minor unit, as Stripe does."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import formats
from django.utils.translation import pgettext_lazy

register = template.Library()

# Currencies Stripe counts in whole units (no cents).
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())


@register.filter
def money(amount: int | None, currency: str) -> str:
    """1500, "usd" -> "15.00 USD" (number formatted for the active language)."""
    if amount is None:
        return "—"
    currency = (currency or "").lower()
    if currency in ZERO_DECIMAL:
        value, places = Decimal(amount), 0
    else:
        value, places = Decimal(amount) / 100, 2
    number = formats.number_format(value, places, use_l10n=True, force_grouping=True)
    return f"{number} {currency.upper()}".strip()


INVOICE_STATUSES = {
    "draft": pgettext_lazy("invoice status", "Draft"),
    "open": pgettext_lazy("invoice status", "Open"),
    "paid": pgettext_lazy("invoice status", "Paid"),
    "uncollectible": pgettext_lazy("invoice status", "Uncollectible"),
    "void": pgettext_lazy("invoice status", "Void"),
}


@register.filter
def invoice_status(status: str) -> str:
    return str(INVOICE_STATUSES.get(status, status))


@register.filter
def storage_gb(megabytes: int | None) -> str:
    """5120 -> "5 GB" (the pricing page shows storage in GB)."""
    from billing.selectors import storage_gb as in_gb

    return in_gb(megabytes)
