"""The documents' own screens: PDF download and preview, send by email, conversions, and the module's
document settings (terms, stock status, PDF templates). Each module's urls.py routes to these with its
module key; every view reads the record through the visibility filter (404 for missing and forbidden)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.decorators import admin_view
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.inventory import pdf as pdf_render
from crm_apps.inventory.conversions import document_convert
from crm_apps.inventory.models import PdfTemplate
from crm_apps.inventory.render import TemplateError, validate
from crm_apps.inventory.sending import default_recipient, document_send
from crm_apps.inventory.settings import document_settings, document_settings_update


def _record(request: HttpRequest, module: str, record_id: uuid.UUID) -> tuple[Any, Any]:
    spec = registry.get(module)
    record = selectors.access_record(spec=spec, actor=request_member(request), record_id=record_id)
    if record is None:
        raise Http404
    return spec, record


@login_required
def pdf_view(request: HttpRequest, record_id: uuid.UUID, module: str, inline: bool = False) -> HttpResponse:
    """The PDF as a download, or inline (the preview: `preview/` or `?inline=1`)."""
    spec, record = _record(request, module, record_id)
    member = request_member(request)
    data = pdf_render.pdf_for(
        spec=spec, record=record, actor=member, language=pdf_render.pdf_language(member, request.GET.get("lang"))
    )
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "inline" if inline or request.GET.get("inline") == "1" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{pdf_render.pdf_filename(record)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def send_view(request: HttpRequest, record_id: uuid.UUID, module: str) -> HttpResponse:
    spec, record = _record(request, module, record_id)
    member = request_member(request)
    values = {
        "to": default_recipient(record),
        "subject": f"{pdf_render.TITLES[module]()} {record.number}",
        "message": "",
        "lang": pdf_render.pdf_language(member, None),
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in values}
        try:
            sent = document_send(
                spec=spec,
                record=record,
                actor=member,
                to=values["to"],
                subject=values["subject"],
                message=values["message"],
                language=pdf_render.pdf_language(member, values["lang"]),
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            queued = _("The PDF is on its way to %(to)s; you will be notified if it cannot be delivered.")
            messages.success(request, queued % {"to": ", ".join(sent)})
            return redirect(record_url(spec, record))
    return render(
        request,
        "inventory/send.html",
        {"spec": spec, "record": record, "values": values, "errors": errors, "languages": pdf_render.LANGUAGES},
        status=400 if errors else 200,
    )


@require_POST
@login_required
def convert_view(request: HttpRequest, record_id: uuid.UUID, module: str, to: str) -> HttpResponse:
    spec, record = _record(request, module, record_id)
    try:
        created = document_convert(actor=request_member(request), source_module=module, source=record, to=to)
    except PermissionDenied:
        messages.error(request, _("You may not convert this record."))
        return redirect(record_url(spec, record))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(record_url(spec, record))
    target = registry.get(_target_key(created[0]))
    if len(created) == 1:
        messages.success(request, _("%(number)s created.") % {"number": created[0].number})
        return redirect(record_url(target, created[0]))
    messages.success(request, _("Created: %(numbers)s.") % {"numbers": ", ".join(r.number for r in created)})
    return redirect(record_url(spec, record))


def _target_key(record: Any) -> str:
    return str(registry.spec_for_model(type(record)).key)


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def settings_view(request: HttpRequest, actor: Member, module: str) -> HttpResponse:
    """Default terms, the stock status (invoices, purchase orders) and the PDF template per language."""
    spec = registry.get(module)
    current = document_settings(module)
    language = request.GET.get("lang") or request.POST.get("lang") or "en"
    if language not in pdf_render.LANGUAGES:
        language = "en"
    stored = PdfTemplate.objects.filter(module=module, language=language).first()
    values = {
        "terms_conditions": current.terms_conditions,
        "stock_status": current.stock_status,
        "html": stored.html if stored else pdf_render.default_template(language),
    }
    errors: dict[str, list[str]] = {}
    preview = ""
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in values}
        try:
            validate(values["html"])
        except TemplateError as exc:
            errors["html"] = [_("The template's sections do not nest: %(problem)s") % {"problem": exc}]
        if len(values["html"]) > 200_000:
            errors["html"] = [_("At most 200,000 characters.")]
        if not errors and request.POST.get("action") == "preview":
            example = spec.records().filter(deleted_at__isnull=True).order_by("-created_at").first()
            if example is not None:
                try:
                    preview = pdf_render.html_for(
                        spec=spec, record=example, actor=actor, language=language, template=values["html"]
                    )
                except TemplateError as exc:
                    errors["html"] = [_("The template cannot be shown: %(problem)s") % {"problem": exc}]
            else:
                messages.info(request, _("Create a record first: the preview shows the newest one."))
        elif not errors:
            try:
                document_settings_update(
                    actor=actor,
                    module=module,
                    terms_conditions=values["terms_conditions"],
                    stock_status=values["stock_status"] if module in ("invoices", "purchase-orders") else None,
                )
            except ValidationError as exc:
                errors.update(exc.message_dict)
            else:
                if request.POST.get("reset") == "1":
                    PdfTemplate.objects.filter(module=module, language=language).delete()
                elif values["html"].strip() != pdf_render.default_template(language).strip():
                    PdfTemplate.objects.update_or_create(
                        module=module,
                        language=language,
                        defaults={"html": values["html"], "updated_by": actor, "updated_at": timezone.now()},
                    )
                messages.success(request, _("Document settings saved."))
                return redirect(f"{request.path}?lang={language}")
    from crm_apps.engine import metadata

    statuses = [v.value for v in metadata.picklist_values(spec.picklists["status"])]
    return render(
        request,
        "inventory/settings.html",
        {
            "spec": spec,
            "tab": "documents",
            "values": values,
            "errors": errors,
            "language": language,
            "languages": pdf_render.LANGUAGES,
            "statuses": statuses,
            "has_stock": module in ("invoices", "purchase-orders"),
            "preview": preview,
        },
        status=400 if errors else 200,
    )
