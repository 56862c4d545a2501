"""Taxes, charges (shipping and handling) with their taxes, company details and the history of rates.

Currencies themselves live in `engine.Currency` (ADR 0020): code, rate to the base currency, the base flag.
This app adds what documents need around them: the dated history of every rate an admin set
(`CurrencyRate`), so a document created on a day can be explained later, and the minor units
(`currencies.py`)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

currency_code_validator = RegexValidator(r"^[A-Z]{3}$", _("Use a 3-letter ISO code."))

PERCENT_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


def percent_field(label: StrOrPromise) -> models.DecimalField:
    """A tax rate in percent, 0-100 with three decimals (vtiger keeps 3: 4.500 %)."""
    return models.DecimalField(label, max_digits=7, decimal_places=3, validators=PERCENT_VALIDATORS)


class Tax(models.Model):
    """A tax a workspace charges (VAT 20 %, Sales tax 8.875 %). Products and services name the taxes that
    apply to them (their tax classes); documents copy name and percent onto their lines."""

    name = models.CharField(_("name"), max_length=100)
    # {language: text}: the name in other languages (saas/value_labels.py), for built-in taxes.
    labels = models.JSONField(_("translations"), default=dict, blank=True)
    percent = percent_field(_("percent"))
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("tax")
        verbose_name_plural = _("taxes")
        constraints = [
            models.UniqueConstraint(models.functions.Lower("name"), name="finance_tax_name_unique"),
            models.CheckConstraint(condition=Q(percent__gte=0) & Q(percent__lte=100), name="finance_tax_percent"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        from saas.value_labels import label_pick

        return label_pick(self.labels, self.name) if self.labels else self.name


class Charge(models.Model):
    """A charge added to documents (vtiger 7's "Shipping & Handling"): a flat amount or a percentage of the
    net total, with the taxes charged on it."""

    FLAT = "flat"
    PERCENT = "percent"
    FORMATS = [(FLAT, _("Flat amount")), (PERCENT, _("Percent of the net total"))]

    name = models.CharField(_("name"), max_length=100)
    labels = models.JSONField(_("translations"), default=dict, blank=True)
    format = models.CharField(_("format"), max_length=10, choices=FORMATS, default=FLAT)
    value = models.DecimalField(
        _("default value"),
        max_digits=16,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    taxes = models.ManyToManyField(Tax, verbose_name=_("taxes"), blank=True, related_name="charges")
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        constraints = [
            models.UniqueConstraint(models.functions.Lower("name"), name="finance_charge_name_unique"),
            models.CheckConstraint(condition=Q(value__gte=0), name="finance_charge_value"),
            models.CheckConstraint(
                condition=Q(format="flat") | Q(value__lte=100), name="finance_charge_percent_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        from saas.value_labels import label_pick

        return label_pick(self.labels, self.name) if self.labels else self.name


class CompanyDetails(models.Model):
    """The workspace's own company as documents print it (one row per tenant: `singleton` is always 1)."""

    singleton = models.PositiveSmallIntegerField(default=1, unique=True, editable=False)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    trading_name = models.CharField(_("trading name"), max_length=200, blank=True)
    street = models.CharField(_("street"), max_length=250, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=30, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    tax_id = models.CharField(_("tax ID (VAT number)"), max_length=50, blank=True)
    registration_number = models.CharField(_("company registration number"), max_length=50, blank=True)
    bank_name = models.CharField(_("bank name"), max_length=150, blank=True)
    bank_account = models.CharField(_("account number (IBAN)"), max_length=50, blank=True)
    bank_code = models.CharField(_("bank code (BIC/SWIFT)"), max_length=30, blank=True)
    bank_details = models.TextField(_("other payment details"), max_length=2000, blank=True)
    # The logo in the tenant's storage under a generated name (never served from a public path).
    logo_storage_name = models.CharField(max_length=200, blank=True)
    logo_content_type = models.CharField(max_length=100, blank=True)
    logo_size = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("company details")
        verbose_name_plural = _("company details")
        constraints = [models.CheckConstraint(condition=Q(singleton=1), name="finance_company_singleton")]

    def __str__(self) -> str:
        return self.legal_name or self.trading_name


class CurrencyRate(models.Model):
    """Every rate an admin set for a currency, dated: `engine.Currency` holds the current one."""

    code = models.CharField(_("code"), max_length=3, validators=[currency_code_validator])
    rate = models.DecimalField(_("rate to the base currency"), max_digits=20, decimal_places=10)
    base = models.CharField(_("base currency"), max_length=3)
    valid_from = models.DateTimeField(default=timezone.now)
    set_by = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["code", "-valid_from", "-id"]
        indexes = [models.Index(fields=["code", "-valid_from"], name="finance_rate_code_from")]
        constraints = [models.CheckConstraint(condition=Q(rate__gt=0), name="finance_rate_positive")]

    def __str__(self) -> str:
        return f"{self.code} {self.rate}"


class TaxRow(models.Model):
    """Abstract: a tax that applies to a catalogue item (its tax class), with the percent used for it
    (blank: the tax's own percent, copied when the row is saved)."""

    tax = models.ForeignKey(Tax, verbose_name=_("tax"), on_delete=models.PROTECT, related_name="+")
    percent = models.DecimalField(
        _("percent"), max_digits=7, decimal_places=3, null=True, blank=True, validators=PERCENT_VALIDATORS
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.tax_id} {self.percent}"

    def clean(self) -> None:
        if self.percent is None and self.tax_id is not None:
            self.percent = self.tax.percent
