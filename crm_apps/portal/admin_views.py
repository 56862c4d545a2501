"""The portal's settings screen for tenant admins (/settings/portal/): branding, publication, access."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access import visibility
from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry
from crm_apps.portal import selectors, services
from crm_apps.portal.models import PUBLISHABLE, SECTIONS, PortalAccount, PortalSettings, publishable


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}


def _contact_by_email(actor: Member, email: str) -> Any:
    spec = registry.get("contacts")
    rows = visibility.visible_records(actor=actor, spec=spec, queryset=spec.records())
    return rows.filter(email__iexact=email.strip(), deleted_at__isnull=True).first() if email.strip() else None


field_label = selectors.field_label


def publication_choices(portal: PortalSettings) -> list[dict[str, Any]]:
    """Per section: its label, whether it is on, and each publishable field with whether it is published."""
    return [
        {
            "key": section,
            "label": registry.get(section).label_plural,
            "on": portal.section_on(section),
            "fixed": section == "tickets",
            "fields": [(n, field_label(section, n), n in portal.published(section)) for n in publishable(section)],
        }
        for section in SECTIONS
    ]


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
                data["published_fields"] = {s: request.POST.getlist(f"published.{s}") for s in PUBLISHABLE}
                data["frame_origins"] = request.POST.get("frame_origins", "")
                services.settings_save(actor=actor, data=data)
                messages.success(request, _("Portal settings saved."))
            elif action == "logo":
                upload = request.FILES.get("logo")
                if upload is None:
                    raise ValidationError({"logo": [_("Choose a picture to upload.")]})
                services.logo_set(actor=actor, upload=upload)
                messages.success(request, _("Logo saved."))
            elif action == "logo_remove":
                services.logo_set(actor=actor, upload=None)
                messages.success(request, _("Logo removed."))
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
    portal = services.settings_get()
    context = {
        "portal": portal,
        # What the admin typed when it was refused (shown again with the error), else what is saved.
        "frame_origins": request.POST.get("frame_origins", "") if errors else "\n".join(portal.frame_origins),
        "frame_sites_max": services.FRAME_SITES_MAX,
        "scopes": PortalSettings.TicketScope.choices,
        "publication": publication_choices(portal),
        "accounts": [
            (a, services.STATUS_LABELS[services.account_status(a)])
            for a in PortalAccount.objects.order_by("email")[:500]
        ],
        "errors": errors,
        "languages": services.LANGUAGES,
    }
    return render(request, "portal/settings.html", context, status=400 if errors else 200)


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
@require_POST
def contact_access(request: HttpRequest, actor: Member, contact_id: str) -> HttpResponse:
    """The contact page's "Portal access" forms: give access (or change the dates), send again, disable.
    Back to the contact's page with a message; a contact the member may not edit is a 403."""
    if not services._is_uuid(contact_id):
        raise Http404
    action = request.POST.get("action")
    back = reverse("engine:detail", args=["contacts", contact_id]) + "#portal-access"
    try:
        if action == "invite":
            services.portal_invite(
                actor=actor,
                contact_id=contact_id,
                support_start=request.POST.get("support_start"),
                support_end=request.POST.get("support_end"),
                language=request.POST.get("language", ""),
            )
            messages.success(request, _("Portal access saved and the invitation sent."))
        elif action == "resend":
            services.portal_resend(actor=actor, contact_id=contact_id)
            messages.success(request, _("Invitation sent again."))
        elif action == "disable":
            services.portal_revoke(actor=actor, contact_id=contact_id)
            messages.success(request, _("Portal access ended."))
        else:
            raise ValidationError({"action": [_("Choose what to do.")]})
    except ValidationError as exc:
        context = {"errors": _errors(exc), "back": back}
        return render(request, "portal/contact_access_error.html", context, status=400)
    return redirect(back)
