"""Writes of the finance settings (tenant admins only): taxes, charges, company details, currency rates.

Every write checks the actor's MANAGE_SETTINGS privilege, validates with field-level errors before writing,
runs in one transaction and is recorded in the audit trail."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine.models import Currency
from crm_apps.engine.services.boards import currency_delete, currency_save
from crm_apps.finance import files
from crm_apps.finance.models import Charge, CompanyDetails, CurrencyRate, Tax

COMPANY_FIELDS = (
    "legal_name",
    "trading_name",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "phone",
    "email",
    "website",
    "tax_id",
    "registration_number",
    "bank_name",
    "bank_account",
    "bank_code",
    "bank_details",
)


def _require_settings(actor: Member) -> None:
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied


def _log(actor: Member, setting: str, changes: dict[str, Any], **details: Any) -> None:
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="finance",
        changes=changes,
        details={"setting": setting, **details},
    )


def _name(value: Any, errors: dict[str, list[str]]) -> str:
    name = str(value or "").strip()
    if not name or len(name) > 100:
        errors["name"] = [_("Enter a name of 1-100 characters.")]
    return name


def _decimal(value: Any, field: str, errors: dict[str, list[str]], *, at_most: Decimal | None) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
        if not number.is_finite() or number < 0 or (at_most is not None and number > at_most):
            raise InvalidOperation
        if number != number.quantize(Decimal("0.001")):
            errors[field] = [_("Use at most 3 decimal places.")]
        return number.quantize(Decimal("0.001"))
    except (InvalidOperation, ValueError):
        if at_most is not None:
            errors[field] = [_("Enter a number between 0 and %(max)s.") % {"max": at_most}]
        else:
            errors[field] = [_("Enter a number of 0 or more.")]
        return Decimal(0)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes"}
    return bool(value)


# --- Taxes ---------------------------------------------------------------------------------------------


@transaction.atomic
def tax_save(*, actor: Member, data: dict[str, Any], tax: Tax | None = None) -> Tax:
    """Add a tax or change one (name, percent, active): names are unique (case-insensitive), percent 0-100
    with at most 3 decimals. Fields left out of `data` keep their value on a change."""
    _require_settings(actor)
    errors: dict[str, list[str]] = {}
    unknown = set(data) - {"name", "percent", "active", "id"}
    for field in unknown:
        errors[field] = [_("Unknown field.")]
    name = _name(data.get("name", tax.name if tax else ""), errors)
    if "percent" in data or tax is None:
        percent = _decimal(data.get("percent", ""), "percent", errors, at_most=Decimal(100))
    else:
        percent = tax.percent
    active = _bool(data["active"]) if "active" in data else (tax.active if tax else True)
    if "name" not in errors:
        clash = Tax.objects.annotate(lname=Lower("name")).filter(lname=name.lower())
        if tax is not None:
            clash = clash.exclude(pk=tax.pk)
        if clash.exists():
            errors["name"] = [_("A tax with this name exists.")]
    if errors:
        raise ValidationError(errors)
    before = {"name": tax.name, "percent": str(tax.percent), "active": tax.active} if tax else None
    if tax is None:
        tax = Tax(position=Tax.objects.count())
    if tax.name != name:
        tax.labels = {}  # a renamed built-in tax keeps no stale translations
    tax.name, tax.percent, tax.active, tax.updated_at = name, percent, active, timezone.now()
    tax.save()
    after = {"name": tax.name, "percent": str(tax.percent), "active": tax.active}
    _log(actor, "tax_saved", {k: [before[k] if before else None, v] for k, v in after.items()}, tax_id=tax.pk)
    return tax


@transaction.atomic
def tax_delete(*, actor: Member, tax: Tax) -> None:
    """Remove a tax no product, service or charge uses; a used one can only be deactivated (documents keep
    their own copy of name and percent either way)."""
    _require_settings(actor)
    from django.db.models import ProtectedError

    try:
        with transaction.atomic():
            tax.charges.clear()
            tax.delete()
    except ProtectedError as exc:
        raise ValidationError(
            {"tax": [_("Products or services use this tax: deactivate it instead of removing it.")]}
        ) from exc
    _log(actor, "tax_deleted", {"name": [tax.name, None]})


@transaction.atomic
def taxes_reorder(*, actor: Member, ids: list[Any]) -> None:
    """Put the taxes in this order (ids not listed keep their relative order after the listed ones)."""
    _require_settings(actor)
    taxes = list(Tax.objects.select_for_update().order_by("position", "id"))
    wanted = [str(i) for i in ids]
    taxes.sort(key=lambda t: (wanted.index(str(t.pk)) if str(t.pk) in wanted else len(wanted), t.position))
    for index, tax in enumerate(taxes):
        tax.position = index
    Tax.objects.bulk_update(taxes, ["position"])


# --- Charges -------------------------------------------------------------------------------------------


@transaction.atomic
def charge_save(*, actor: Member, data: dict[str, Any], charge: Charge | None = None) -> Charge:
    """Add or change a charge: name, format ("flat" or "percent"), value, active and the ids of the taxes
    charged on it."""
    _require_settings(actor)
    errors: dict[str, list[str]] = {}
    for field in set(data) - {"name", "format", "value", "active", "taxes", "id"}:
        errors[field] = [_("Unknown field.")]
    name = _name(data.get("name", charge.name if charge else ""), errors)
    fmt = str(data.get("format", charge.format if charge else Charge.FLAT))
    if fmt not in (Charge.FLAT, Charge.PERCENT):
        errors["format"] = [_("Choose “flat” or “percent”.")]
    if "value" in data or charge is None:
        limit = Decimal(100) if fmt == Charge.PERCENT else None
        value = _decimal(data.get("value", "0"), "value", errors, at_most=limit)
    else:
        value = charge.value
        if fmt == Charge.PERCENT and value > 100:
            errors["value"] = [_("Enter a number between 0 and %(max)s.") % {"max": 100}]
    active = _bool(data["active"]) if "active" in data else (charge.active if charge else True)
    tax_ids: list[int] | None = None
    if "taxes" in data:
        raw = data["taxes"]
        if not isinstance(raw, list):
            errors["taxes"] = [_("Send a list of tax ids.")]
        else:
            try:
                tax_ids = sorted({int(str(t)) for t in raw})
            except ValueError:
                tax_ids = None
                errors["taxes"] = [_("Send a list of tax ids.")]
            else:
                if Tax.objects.filter(pk__in=tax_ids).count() != len(tax_ids):
                    errors["taxes"] = [_("Choose existing taxes.")]
    if "name" not in errors:
        clash = Charge.objects.annotate(lname=Lower("name")).filter(lname=name.lower())
        if charge is not None:
            clash = clash.exclude(pk=charge.pk)
        if clash.exists():
            errors["name"] = [_("A charge with this name exists.")]
    if errors:
        raise ValidationError(errors)
    if charge is None:
        charge = Charge(position=Charge.objects.count())
    if charge.name != name:
        charge.labels = {}
    charge.name, charge.format, charge.value, charge.active = name, fmt, value, active
    charge.updated_at = timezone.now()
    charge.save()
    if tax_ids is not None:
        charge.taxes.set(tax_ids)
    _log(
        actor,
        "charge_saved",
        {"name": [None, charge.name], "value": [None, str(charge.value)]},
        charge_id=charge.pk,
        taxes=sorted(charge.taxes.values_list("pk", flat=True)),
    )
    return charge


@transaction.atomic
def charge_delete(*, actor: Member, charge: Charge) -> None:
    _require_settings(actor)
    name = charge.name
    charge.delete()
    _log(actor, "charge_deleted", {"name": [name, None]})


# --- Company details -----------------------------------------------------------------------------------


def _company_row() -> CompanyDetails:
    found = CompanyDetails.objects.select_for_update().filter(singleton=1).first()
    return found or CompanyDetails(singleton=1)


@transaction.atomic
def company_details_update(*, actor: Member, data: dict[str, Any]) -> CompanyDetails:
    """Change the company details documents print; fields left out keep their value."""
    _require_settings(actor)
    company = _company_row()
    errors: dict[str, list[str]] = {}
    before = {f: getattr(company, f) for f in COMPANY_FIELDS}
    for field, value in data.items():
        if field not in COMPANY_FIELDS:
            errors[field] = [_("Unknown field.")]
            continue
        if value is not None and not isinstance(value, str):
            errors[field] = [_("Enter a text.")]
            continue
        setattr(company, field, (value or "").strip())
    if company.website and "://" not in company.website:
        company.website = "https://" + company.website
    if not errors:
        try:
            company.full_clean(exclude=["updated_by", "logo_storage_name", "logo_content_type", "logo_size"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    company.updated_at, company.updated_by = timezone.now(), actor
    company.save()
    changes = {f: [before[f], getattr(company, f)] for f in COMPANY_FIELDS if before[f] != getattr(company, f)}
    if changes:
        _log(actor, "company_details", changes)
    return company


def company_logo_set(*, actor: Member, upload: IO[bytes] | None) -> CompanyDetails:
    """Replace (or with None remove) the company logo; the old file is removed once the change commits."""
    _require_settings(actor)
    stored: tuple[str, int, str] | None = files.image_store(upload, prefix="finance/logo") if upload else None
    try:
        with transaction.atomic():
            company = _company_row()
            old = company.logo_storage_name
            company.logo_storage_name, company.logo_size, company.logo_content_type = stored or ("", 0, "")
            company.updated_at, company.updated_by = timezone.now(), actor
            company.save()
            _log(actor, "company_logo", {"logo": [bool(old), bool(stored)]})
            if old:
                transaction.on_commit(lambda: files.image_discard(old))
    except Exception:
        if stored:
            files.image_discard(stored[0])
        raise
    return company


# --- Currencies ----------------------------------------------------------------------------------------


@transaction.atomic
def currency_set(*, actor: Member, code: str, rate: Any, is_base: bool = False) -> Currency:
    """Add or change a currency (engine.Currency, ADR 0020) and keep the dated history of its rates."""
    _require_settings(actor)
    before = Currency.objects.filter(code=str(code or "").strip().upper()).first()
    currency = currency_save(actor=actor, code=code, rate=rate, is_base=is_base)
    base = Currency.objects.filter(is_base=True).values_list("code", flat=True).first() or currency.code
    if before is None or before.rate != currency.rate or before.is_base != currency.is_base:
        CurrencyRate.objects.create(code=currency.code, rate=currency.rate, base=base, set_by=actor)
        _log(
            actor,
            "currency_rate",
            {"rate": [str(before.rate) if before else None, str(currency.rate)]},
            code=currency.code,
            base=base,
        )
    return currency


@transaction.atomic
def currency_remove(*, actor: Member, code: str) -> None:
    """Remove a currency (never the base one); its rate history stays."""
    _require_settings(actor)
    currency_delete(actor=actor, code=code)
    _log(actor, "currency_removed", {"code": [str(code).upper(), None]})
