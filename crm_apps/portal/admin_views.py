"""The portal's settings screen for tenant admins (/settings/portal/): branding, publication, access."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry
from crm_apps.portal import services
from crm_apps.portal.models import SECTIONS, PortalAccount, PortalSettings


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}


def _contact_by_email(actor: Member, email: str) -> Any:
    spec = registry.get("contacts")
    rows = visibility.visible_records(actor=actor, spec=spec, queryset=spec.records())
    return rows.filter(email__iexact=email.strip(), deleted_at__isnull=True).first() if email.strip() else None


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def index(request: HttpRequest, actor: Member) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "settings":
                data: dict[str, Any] = {
                    k: request.POST.get(k, "")
                    for k in ("title", "welcome_text", "logo_text", "accent_colour", "ticket_scope")
                }
                data["enabled"] = bool(request.POST.get("enabled"))
                data["sections"] = request.POST.getlist("sections")
                data["ticket_fields"] = request.POST.getlist("ticket_fields")
                services.settings_save(actor=actor, data=data)
                messages.success(request, _("Portal settings saved."))
            elif action == "invite":
                contact = _contact_by_email(actor, request.POST.get("email", ""))
                if contact is None:
                    raise ValidationError({"email": [_("No contact you can see has this email.")]})
                services.portal_invite(
                    actor=actor,
                    contact_id=contact.pk,
                    support_start=request.POST.get("support_start"),
                    support_end=request.POST.get("support_end"),
                    language=request.POST.get("language", ""),
                )
                messages.success(request, _("Invitation sent."))
            elif action == "revoke":
                services.portal_revoke(actor=actor, contact_id=request.POST.get("contact", ""))
                messages.success(request, _("Portal access ended."))
        except ValidationError as exc:
            errors = _errors(exc)
        except PermissionDenied:
            errors = {"non_field_errors": [_("You may not change this contact's access.")]}
        if not errors:
            return redirect("portal_settings:index")
    context = {
        "portal": services.settings_get(),
        "scopes": PortalSettings.TicketScope.choices,
        "publishable": services.PUBLISHABLE_TICKET_FIELDS,
        "sections": SECTIONS,
        "accounts": PortalAccount.objects.order_by("email")[:500],
        "errors": errors,
        "languages": services.LANGUAGES,
    }
    return render(request, "portal/settings.html", context, status=400 if errors else 200)
