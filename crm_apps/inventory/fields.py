"""Model fields of the inventory documents."""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_stubs_ext import StrOrPromise


class MoneyField(models.DecimalField):
    """An amount stored exactly as computed: validated as at most 3 decimal places (the largest minor
    unit of ISO 4217 currencies but funds codes), stored as an unconstrained `numeric`, so 12.50 EUR comes
    back as "12.50" and 1200 JPY as "1200" (the totals are rounded to the currency's minor unit)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 3)
        super().__init__(*args, **kwargs)

    def db_type(self, connection: Any) -> str:
        return "numeric"


def money(label: StrOrPromise, **kwargs: Any) -> MoneyField:
    kwargs.setdefault("default", 0)
    return MoneyField(label, **kwargs)


def percent(label: StrOrPromise, **kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        label,
        max_digits=7,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        **kwargs,
    )
