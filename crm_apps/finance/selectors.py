"""The finance settings as the catalogue and the documents read them (the public API of this app).

Every function answers for the active workspace (tenant schema). Taxes, charges and company details are
workspace settings every member may read (documents print them); only tenant admins write them
(`services`). Amounts are Decimal, rates are "1 unit of the currency = rate units of the base currency"."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from crm_apps.engine import currency as engine_currency
from crm_apps.engine.models import Currency
from crm_apps.finance.currencies import FALLBACK_CURRENCY, minor_units, quantum
from crm_apps.finance.models import Charge, CompanyDetails, CurrencyRate, Tax


class UnknownCurrency(LookupError):
    """The workspace has no rate for this currency (an admin has not added it)."""


def taxes(*, include_inactive: bool = False) -> list[Tax]:
    """The workspace's taxes in their order (active ones only unless asked)."""
    qs = Tax.objects.all()
    if not include_inactive:
        qs = qs.filter(active=True)
    return list(qs.order_by("position", "id"))


def active_taxes() -> list[Tax]:
    """The taxes a new document or catalogue item may use."""
    return taxes()


def tax_get(tax_id: int | str) -> Tax | None:
    try:
        return Tax.objects.filter(pk=int(str(tax_id))).first()
    except ValueError:
        return None


def charges(*, include_inactive: bool = False) -> list[Charge]:
    """The workspace's charges (shipping and handling...) with their taxes prefetched."""
    qs = Charge.objects.prefetch_related("taxes")
    if not include_inactive:
        qs = qs.filter(active=True)
    return list(qs.order_by("position", "id"))


def shipping_charge() -> Charge | None:
    """The charge documents use for "shipping": the first active charge (vtiger's Shipping & Handling)."""
    return Charge.objects.prefetch_related("taxes").filter(active=True).order_by("position", "id").first()


def company_details() -> CompanyDetails:
    """The workspace's company details (an unsaved empty row until an admin fills them in)."""
    return CompanyDetails.objects.filter(singleton=1).first() or CompanyDetails()


def base_currency() -> str:
    """The workspace's base currency (USD until an admin sets one)."""
    return engine_currency.base_currency() or FALLBACK_CURRENCY


def currencies() -> list[Currency]:
    """The workspace's currencies, the base first."""
    return list(Currency.objects.all())


def currency_codes() -> list[str]:
    """Codes a record may use: the workspace's currencies, or the base alone when none were added."""
    codes = [c.code for c in currencies()]
    return codes or [base_currency()]


def currency_rate(code: str) -> Decimal:
    """Today's rate of `code` to the base currency: the base is 1; a currency the workspace does not know
    raises UnknownCurrency (a document must not be converted at a made-up rate). Without any currency set
    up, the fallback base (USD) is 1."""
    code = (code or "").upper()
    if code == base_currency():
        return Decimal(1)
    found = Currency.objects.filter(code=code).first()
    if found is None:
        raise UnknownCurrency(code)
    return Decimal(1) if found.is_base else found.rate


def convert(amount: Decimal, *, from_code: str, to_code: str) -> Decimal:
    """`amount` in `from_code` expressed in `to_code` through the base currency at today's rates, rounded
    half-up to the target currency's minor unit."""
    from decimal import ROUND_HALF_UP

    if from_code.upper() == to_code.upper():
        return amount.quantize(quantum(to_code), rounding=ROUND_HALF_UP)
    in_base = amount * currency_rate(from_code)
    return (in_base / currency_rate(to_code)).quantize(quantum(to_code), rounding=ROUND_HALF_UP)


def rate_history(code: str, *, limit: int = 50) -> list[CurrencyRate]:
    """The rates an admin set for `code`, newest first."""
    return list(CurrencyRate.objects.filter(code=code.upper()).order_by("-valid_from", "-id")[:limit])


@dataclass(frozen=True)
class CurrencyInfo:
    code: str
    minor_units: int


def currency_info(code: str) -> CurrencyInfo:
    return CurrencyInfo(code=code.upper(), minor_units=minor_units(code))
