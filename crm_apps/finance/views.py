"""Tenant-admin screens of the finance settings (/settings/finance/): taxes, charges, company details and
currencies. Each page posts to itself; every write is a service call, errors come back on the form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.finance import files, selectors, services
from crm_apps.finance.currencies import KNOWN, currency_name, minor_units
from crm_apps.finance.models import Charge, CurrencyRate, Tax
from saas.timezones import time_zones_sorted


def _not_admin_message() -> str:
    return _("Only workspace administrators change the time zone.")


TABS = (
    ("taxes", "finance:taxes"),
    ("charges", "finance:charges"),
    ("company", "finance:company"),
    ("currencies", "finance:currencies"),
)


def _render(request: HttpRequest, template: str, tab: str, context: dict[str, Any], errors: Any) -> HttpResponse:
    context = {"tab": tab, "errors": errors or {}, "posted": request.POST, **context}
    return render(request, template, context, status=400 if errors else 200)


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def taxes(request: HttpRequest, actor: Member) -> HttpResponse:
    """Add, change, deactivate, order and remove the workspace's taxes."""
    errors: dict[str, list[str]] = {}
    editing = None
    if request.method == "POST":
        post = request.POST
        try:
            if post.get("delete"):
                services.tax_delete(actor=actor, tax=_get(Tax, post["delete"]))
                messages.success(request, _("Tax removed."))
            elif post.get("move"):
                ids = [t.pk for t in selectors.taxes(include_inactive=True)]
                tax_id, _sep, direction = post["move"].partition(":")
                services.taxes_reorder(actor=actor, ids=_moved(ids, int(tax_id), direction))
            else:
                editing = _get(Tax, post["id"]) if post.get("id") else None
                services.tax_save(
                    actor=actor,
                    tax=editing,
                    data={
                        "name": post.get("name", ""),
                        "percent": post.get("percent", ""),
                        "active": post.get("active") == "1",
                    },
                )
                messages.success(request, _("Tax saved."))
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect("finance:taxes")
    context = {"taxes": selectors.taxes(include_inactive=True), "editing": editing}
    return _render(request, "finance/taxes.html", "taxes", context, errors)


def _moved(ids: list[int], item: int, direction: str) -> list[int]:
    if item not in ids:
        return ids
    index = ids.index(item)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(ids):
        ids[index], ids[target] = ids[target], ids[index]
    return ids


def _get(model: Any, pk: Any) -> Any:
    try:
        found = model.objects.filter(pk=int(str(pk))).first()
    except ValueError:
        found = None
    if found is None:
        raise Http404
    return found


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def charges(request: HttpRequest, actor: Member) -> HttpResponse:
    """Shipping and handling and other charges, each with the taxes charged on it."""
    errors: dict[str, list[str]] = {}
    editing = None
    if request.method == "POST":
        post = request.POST
        try:
            if post.get("delete"):
                services.charge_delete(actor=actor, charge=_get(Charge, post["delete"]))
                messages.success(request, _("Charge removed."))
            else:
                editing = _get(Charge, post["id"]) if post.get("id") else None
                services.charge_save(
                    actor=actor,
                    charge=editing,
                    data={
                        "name": post.get("name", ""),
                        "format": post.get("format", Charge.FLAT),
                        "value": post.get("value", "0") or "0",
                        "active": post.get("active") == "1",
                        "taxes": post.getlist("taxes"),
                    },
                )
                messages.success(request, _("Charge saved."))
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect("finance:charges")
    context = {
        "charges": selectors.charges(include_inactive=True),
        "taxes": selectors.taxes(include_inactive=True),
        "formats": Charge.FORMATS,
        "editing": editing,
    }
    return _render(request, "finance/charges.html", "charges", context, errors)


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def company(request: HttpRequest, actor: Member) -> HttpResponse:
    """The legal name, address, tax ids, bank details and logo documents print."""
    errors: dict[str, list[str]] = {}
    tenant = request.tenant  # type: ignore[attr-defined]
    if request.method == "POST" and request.POST.get("form") == "timezone":
        from crm_apps.access.services import workspace_timezone_set

        try:
            workspace_timezone_set(actor=actor, tenant=tenant, name=request.POST.get("timezone", ""))
        except (ValidationError, PermissionDenied) as exc:
            errors = _errors(exc) if isinstance(exc, ValidationError) else {"timezone": [_not_admin_message()]}
        else:
            messages.success(request, _("Time zone saved."))
            return redirect("finance:company")
    elif request.method == "POST":
        try:
            if request.POST.get("logo") == "remove":
                services.company_logo_set(actor=actor, upload=None)
                messages.success(request, _("Logo removed."))
            else:
                services.company_details_update(
                    actor=actor, data={f: request.POST.get(f, "") for f in services.COMPANY_FIELDS}
                )
                if request.FILES.get("logo"):
                    services.company_logo_set(actor=actor, upload=request.FILES["logo"])  # type: ignore[arg-type]
                messages.success(request, _("Company details saved."))
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect("finance:company")
    details = selectors.company_details()
    posted_company = errors and request.POST.get("form") != "timezone"
    values = request.POST if posted_company else {f: getattr(details, f) for f in services.COMPANY_FIELDS}
    fields = [
        (
            name,
            getattr(details._meta.get_field(name), "verbose_name", name),
            values.get(name, ""),
            name == "bank_details",
        )
        for name in services.COMPANY_FIELDS
    ]
    context = {
        "details": details,
        "fields": fields,
        "timezone": request.POST.get("timezone", "") if "timezone" in errors else tenant.timezone,
        "timezones": list(time_zones_sorted()),
        "can_set_timezone": actor.is_admin,
    }
    return _render(request, "finance/company.html", "company", context, errors)


@login_required
def company_logo(request: HttpRequest) -> HttpResponseBase:
    """The company logo for members of this workspace (documents, settings); 404 without one."""
    if getattr(request, "member", None) is None:
        raise Http404
    details = selectors.company_details()
    if not details.logo_storage_name:
        raise Http404
    return files.image_response(
        storage_name=details.logo_storage_name, content_type=details.logo_content_type, size=details.logo_size
    )


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def currencies(request: HttpRequest, actor: Member) -> HttpResponse:
    """The base currency, the other currencies with their rates, and the history of each rate."""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            if request.POST.get("delete"):
                services.currency_remove(actor=actor, code=request.POST["delete"])
            else:
                services.currency_set(
                    actor=actor,
                    code=request.POST.get("code", ""),
                    rate=request.POST.get("rate", ""),
                    is_base=request.POST.get("is_base") == "1",
                )
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, _("Currencies saved."))
            return redirect("finance:currencies")
    rows = [
        {"currency": c, "name": currency_name(c.code), "minor_units": minor_units(c.code)}
        for c in selectors.currencies()
    ]
    history = list(CurrencyRate.objects.select_related("set_by__user").order_by("-valid_from", "-id")[:30])
    context = {
        "rows": rows,
        "history": history,
        "known": sorted((code, str(name)) for code, (name, _symbol) in KNOWN.items()),
        "base": selectors.base_currency(),
    }
    return _render(request, "finance/currencies.html", "currencies", context, errors)


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def index(request: HttpRequest, actor: Member) -> HttpResponse:
    return redirect("finance:taxes")
