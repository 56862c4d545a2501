"""The module builder under Settings: list, create, edit and archive custom modules. Their fields are
edited on the existing custom-field screens (crm_settings:fields)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.custom_modules import services
from crm_apps.custom_modules.forms import CustomModuleCreateForm, CustomModuleForm
from crm_apps.custom_modules.models import CustomModule, CustomRecord
from crm_apps.engine.models import CustomField
from frontend.forms import form_add_service_errors


def _module(key: str) -> CustomModule:
    module = CustomModule.objects.filter(key=key).first()
    if module is None:
        raise Http404
    return module


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def index(request: HttpRequest, actor: Member) -> HttpResponse:
    form = CustomModuleCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            module = services.custom_module_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Module “%(label)s” created. Now add its fields.") % {"label": module.label})
            return HttpResponseRedirect(reverse("crm_settings:fields", args=[module.key]))
    modules = list(CustomModule.objects.order_by("archived_at", "label", "id"))
    fields = dict(
        CustomField.objects.filter(module__in=[m.key for m in modules], archived_at__isnull=True)
        .values_list("module")
        .annotate(n=Count("id"))
        .values_list("module", "n")
    )
    records = dict(
        CustomRecord.objects.filter(deleted_at__isnull=True)
        .values_list("module_key")
        .annotate(n=Count("id"))
        .values_list("module_key", "n")
    )
    rows = [{"module": m, "fields": fields.get(m.key, 0), "records": records.get(m.key, 0)} for m in modules]
    return render(request, "custom_modules/index.html", {"rows": rows, "form": form})


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def edit(request: HttpRequest, actor: Member, key: str) -> HttpResponse:
    module = _module(key)
    initial = {"label": module.label, "label_plural": module.label_plural, "icon": module.icon}
    form = CustomModuleForm(request.POST or None, initial={**initial, "menu_group": module.menu_group})
    if request.method == "POST" and form.is_valid():
        try:
            services.custom_module_update(actor=actor, module=module, data=form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Module saved."))
            return HttpResponseRedirect(reverse("custom_modules:index"))
    return render(request, "custom_modules/edit.html", {"module": module, "form": form})


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def archive(request: HttpRequest, actor: Member, key: str) -> HttpResponse:
    module = services.custom_module_archive(actor=actor, module=_module(key))
    messages.success(
        request,
        _("Module “%(label)s” archived. Its records are kept; restore it to use them again.") % {"label": module.label},
    )
    return HttpResponseRedirect(reverse("custom_modules:index"))


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def restore(request: HttpRequest, actor: Member, key: str) -> HttpResponse:
    try:
        module = services.custom_module_update(actor=actor, module=_module(key), data={"archived": False})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Module “%(label)s” restored.") % {"label": module.label})
    return HttpResponseRedirect(reverse("custom_modules:index"))
