"""Column helpers for money and currencies, shared by the catalogue and the documents."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django_stubs_ext import StrOrPromise

from crm_apps.finance.currencies import default_currency
from crm_apps.finance.models import currency_code_validator


def currency_field(label: StrOrPromise) -> models.CharField:
    """A 3-letter ISO code that starts at the workspace's base currency (USD without one)."""
    return models.CharField(label, max_length=3, default=default_currency, validators=[currency_code_validator])


def price_field(label: StrOrPromise) -> models.DecimalField:
    """A non-negative price with 2 decimals (documents round their totals to the currency's minor unit);
    optional in forms (an emptied price is 0.00), so profiles may make it read-only or hidden."""
    return models.DecimalField(
        label,
        max_digits=16,
        decimal_places=2,
        default=Decimal("0.00"),
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )


def quantity_field(
    label: StrOrPromise, *, default: Decimal | None = Decimal("0.000"), not_negative: bool = True
) -> models.DecimalField:
    """A quantity with 3 decimals (vtiger's); None as default makes it optional."""
    return models.DecimalField(
        label,
        max_digits=14,
        decimal_places=3,
        default=default,
        null=default is None,
        blank=default is None,
        validators=[MinValueValidator(Decimal("0"))] if not_negative else [],
    )
