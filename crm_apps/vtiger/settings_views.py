"""Settings › Migrate from vtiger: start a background migration and follow its progress."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.vtiger.migration import import_run_start
from crm_apps.vtiger.models import ImportRun


class ImportForm(forms.Form):
    url = forms.URLField(
        label=gettext_lazy("vtiger address"),
        max_length=500,
        help_text=gettext_lazy(
            "The address of the vtiger install, e.g. https://crm.example.com (or its webservice.php)."
        ),
        assume_scheme="https",
    )
    username = forms.CharField(label=gettext_lazy("vtiger user name"), max_length=254)
    access_key = forms.CharField(
        label=gettext_lazy("Access key"),
        max_length=128,
        help_text=gettext_lazy("In vtiger: My Preferences › Access Key. Use an administrator so every record is read."),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


def _enqueue(run_id: int) -> None:
    from crm_apps.vtiger.tasks import import_run_task

    import_run_task.delay(run_id)


@admin_view
def migrate(request: HttpRequest, actor: Member) -> HttpResponse:
    form = ImportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = import_run_start(actor=actor, enqueue=_enqueue, **form.cleaned_data)
        except PermissionDenied:
            raise
        messages.success(request, _("The migration started; this page shows its progress."))
        return redirect("vtiger:migration_run", run_id=run.pk)
    runs = ImportRun.objects.select_related("started_by__user")[:20]
    return render(request, "vtiger/migrate.html", {"form": form, "runs": runs})


@admin_view
def migration_run(request: HttpRequest, actor: Member, run_id: int) -> HttpResponse:
    run = get_object_or_404(ImportRun.objects.select_related("started_by__user"), pk=run_id)
    modules = sorted((run.progress or {}).get("modules", {}).items())
    active = run.status in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING)
    return render(request, "vtiger/migration_run.html", {"run": run, "modules": modules, "active": active})
