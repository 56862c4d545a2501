"""The leads module's settings page: which lead field fills which field of the organisation, contact
and deal a conversion creates (listed on the module settings screens through ModuleSpec.settings_pages)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry
from crm_apps.modules.leads.models import ConversionMapping
from crm_apps.modules.leads.module import SPEC
from crm_apps.modules.leads.services import conversion_mapping_set
from crm_apps.modules.leads.settings_forms import ConversionMappingForm
from frontend.forms import form_add_service_errors


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def conversion(request: HttpRequest, actor: Member) -> HttpResponse:
    """Edit the conversion mapping; every change is saved, or none is."""
    try:
        targets = [registry.get(target) for target in ConversionMapping.Target.values]
    except registry.UnknownModule as exc:
        raise Http404 from exc
    initial = {
        ConversionMappingForm.field_name(row.target, row.target_field): row.lead_field
        for row in ConversionMapping.objects.all()
    }
    form = ConversionMappingForm(targets, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # all or nothing
                errors: dict[str, list[str]] = {}
                for target, target_field, lead_field in form.changes():
                    try:
                        conversion_mapping_set(
                            actor=actor, target=target, target_field=target_field, lead_field=lead_field
                        )
                    except ValidationError as exc:
                        errors[form.field_name(target, target_field)] = exc.messages
                if errors:
                    raise ValidationError(errors)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Conversion mapping saved."))
            return HttpResponseRedirect(reverse("leads:conversion_settings"))
    context = {"spec": SPEC, "tab": "conversion", "form": form, "groups": form.groups()}
    return render(request, "leads/settings_conversion.html", context)
