"""Tenant-admin screens of the boards: a column's rotting threshold (a form on the board itself) and the
workspace's base currency and exchange rates (`/settings/modules/currencies/`)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine.models import Currency
from crm_apps.engine.services.boards import board_column_setting_set, currency_delete, currency_save
from crm_apps.engine.views import _spec, error_text


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def board_column(request: HttpRequest, actor: Member, module: str) -> HttpResponse:
    """Save a column's rotting threshold and go back to the board."""
    spec = _spec(module, request)
    from django.core.exceptions import ValidationError

    try:
        board_column_setting_set(
            spec=spec,
            actor=actor,
            field=request.POST.get("field", ""),
            value=request.POST.get("value", ""),
            rotting_days=request.POST.get("rotting_days", ""),
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Column settings saved."))
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("engine:board", args=[spec.key])
    return redirect(target)


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def currencies(request: HttpRequest, actor: Member) -> HttpResponse:
    """The base currency and the rates of the others; add, change or remove one."""
    from django.core.exceptions import ValidationError

    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            if request.POST.get("delete"):
                currency_delete(actor=actor, code=request.POST["delete"])
            else:
                currency_save(
                    actor=actor,
                    code=request.POST.get("code", ""),
                    rate=request.POST.get("rate", ""),
                    is_base=request.POST.get("is_base") == "1",
                )
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Currencies saved."))
            return redirect("crm_settings:currencies")
    context = {"currencies": list(Currency.objects.all()), "errors": errors, "posted": request.POST}
    return render(request, "engine/settings/currencies.html", context, status=400 if errors else 200)
