"""Operator admin on the bare domain (staff only): tenants, domains, users, tenant backups, tenant
migration status."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tenants.models import (
    BackupKind,
    BackupStatus,
    Domain,
    Tenant,
    TenantBackup,
    TenantMigration,
    User,
    WorkspaceMembership,
)
from tenants.selectors import tenant_list_with_member_counts
from tenants.validators import validate_subdomain


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("schema_name", "name", "status", "created_at", "member_count")
    list_filter = ("status",)
    search_fields = ("schema_name", "name")
    # The plan code follows the subscription (billing's operator actions change it, with a reason and
    # an audit entry); edited here it would lift or change the plan's limits behind billing's back.
    readonly_fields = ("schema_name", "plan_code", "created_at")
    fields = ("schema_name", "name", "status", "plan_code", "created_at")
    inlines = [DomainInline]
    actions = ["back_up"]

    @admin.action(description=_("Back up the selected workspaces"), permissions=["backup"])
    def back_up(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse:
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return HttpResponseRedirect(reverse("admin:tenants_tenantbackup_backup") + f"?tenants={ids}")

    def has_backup_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("tenants.add_tenantbackup"))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return tenant_list_with_member_counts()

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, obj: Any) -> int:
        return int(obj.member_count)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Tenants are created by signup or `manage.py tenant_create`, which also build the schema.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deletion decides the schema's fate: `manage.py tenant_delete` only.
        return False


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain", "tenant__schema_name")
    list_select_related = ("tenant",)


class MembershipInline(admin.TabularInline):
    model = WorkspaceMembership
    extra = 0
    readonly_fields = ("tenant", "is_active", "created_at")
    can_delete = False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_staff", "is_active", "date_joined")
    search_fields = ("email", "name")
    list_filter = ("is_staff", "is_active")
    fieldsets = (
        (None, {"fields": ("email", "name", "password")}),
        (_("Status"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)
    filter_horizontal = ()
    inlines = [MembershipInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Identities are shared by tenants: deactivate them instead of deleting.
        return False


@admin.register(TenantMigration)
class TenantMigrationAdmin(admin.ModelAdmin):
    """Where each schema stands in the latest `manage.py migrate_tenants` runs (read-only: the command writes)."""

    list_display = ("schema_name", "kind", "status", "method", "applied", "started_at", "finished_at", "short_version")
    list_filter = ("status", "kind", "version")
    search_fields = ("schema_name", "error")
    ordering = ("-started_at", "schema_name")
    readonly_fields = (
        "schema_name",
        "kind",
        "version",
        "status",
        "method",
        "applied",
        "started_at",
        "finished_at",
        "error",
    )

    @admin.display(description=_("version"), ordering="version")
    def short_version(self, obj: TenantMigration) -> str:
        return obj.version[:12]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BackupForm(forms.Form):
    tenants = forms.ModelMultipleChoiceField(
        label=_("Workspaces"), queryset=Tenant.objects.order_by("schema_name"), widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with your name in the list of tenant backups."),
    )


class RestoreForm(forms.Form):
    archive = forms.FileField(label=_("Archive"), help_text=_("A .tar.gz made by a backup of this platform."))
    subdomain = forms.CharField(
        label=_("Subdomain of the new workspace"),
        max_length=40,
        help_text=_("The archive is restored as a new workspace at this address; the original is not touched."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with your name in the list of tenant backups."),
    )

    def clean_subdomain(self) -> str:
        value = str(self.cleaned_data["subdomain"]).strip().lower()
        validate_subdomain(value)
        if Tenant.objects.filter(schema_name=value).exists():
            raise ValidationError(_("This subdomain is already taken."))
        return value


@admin.register(TenantBackup)
class TenantBackupAdmin(admin.ModelAdmin):
    """Backups and restores: the operators' log (read-only), progress while they run, downloads, and the
    two forms that start them (back up workspaces; restore an uploaded archive as a new workspace)."""

    list_display = (
        "created_at",
        "kind",
        "schema_name",
        "status",
        "progress_display",
        "operator_label",
        "size",
        "download_link",
    )
    list_filter = ("kind", "status")
    search_fields = ("schema_name", "operator_label", "reason")
    readonly_fields = (
        "kind",
        "tenant",
        "schema_name",
        "operator_label",
        "reason",
        "status",
        "progress_display",
        "stage",
        "error",
        "download_link",
        "size",
        "sha256",
        "details",
        "created_at",
        "started_at",
        "finished_at",
    )
    fields = readonly_fields
    change_list_template = "admin/tenants/tenantbackup/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started from the "Back up" and "Restore" forms, which build the job

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the operators' log of who took or restored which data

    @admin.display(description=_("progress"))
    def progress_display(self, obj: TenantBackup) -> str:
        running = obj.status in (BackupStatus.QUEUED, BackupStatus.RUNNING)
        return format_html(
            '<progress max="100" value="{}" aria-label="{}"{}>{}%</progress> {}% {}',
            obj.progress,
            gettext("progress"),
            format_html(" data-backup-running") if running else "",
            obj.progress,
            obj.progress,
            obj.stage,
        )

    @admin.display(description=_("archive"))
    def download_link(self, obj: TenantBackup) -> str:
        from tenants.backup import job_archive_path

        if job_archive_path(job=obj) is None:
            return "-"
        url = reverse("admin:tenants_tenantbackup_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download"))

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("backup/", wrap(self.backup_view), name="tenants_tenantbackup_backup"),
            path("restore/", wrap(self.restore_view), name="tenants_tenantbackup_restore"),
            path("<int:pk>/download/", wrap(self.download_view), name="tenants_tenantbackup_download"),
            *super().get_urls(),
        ]

    def _require_start_permission(self, request: HttpRequest) -> None:
        if not request.user.has_perm("tenants.add_tenantbackup"):
            raise PermissionDenied

    def backup_view(self, request: HttpRequest) -> HttpResponse:
        from tenants.backup import backup_job_create, job_enqueue

        self._require_start_permission(request)
        if request.method == "POST":
            form = BackupForm(request.POST)
            if form.is_valid():
                with transaction.atomic():
                    for tenant in form.cleaned_data["tenants"]:
                        job = backup_job_create(actor=request.user, tenant=tenant, reason=form.cleaned_data["reason"])  # type: ignore[arg-type]
                        job_enqueue(job=job)
                count = len(form.cleaned_data["tenants"])
                messages.success(
                    request,
                    ngettext(
                        "%(count)d backup queued; its progress is shown below.",
                        "%(count)d backups queued; their progress is shown below.",
                        count,
                    )
                    % {"count": count},
                )
                return HttpResponseRedirect(reverse("admin:tenants_tenantbackup_changelist"))
        else:
            ids = [int(i) for i in request.GET.get("tenants", "").split(",") if i.strip().isdigit()]
            form = BackupForm(initial={"tenants": ids})
        return self._form_page(request, form, gettext("Back up workspaces"), multipart=False)

    def restore_view(self, request: HttpRequest) -> HttpResponse:
        from tenants.backup import job_enqueue, restore_job_create, upload_store

        self._require_start_permission(request)
        if request.method == "POST":
            form = RestoreForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["archive"]
                stored = upload_store(chunks=upload.chunks())
                with transaction.atomic():
                    job = restore_job_create(
                        actor=request.user,  # type: ignore[arg-type]
                        archive=stored,
                        as_new=form.cleaned_data["subdomain"],
                        overwrite=False,
                        reason=form.cleaned_data["reason"],
                    )
                    job_enqueue(job=job)
                messages.success(
                    request,
                    gettext("Restore of %(name)s queued as %(subdomain)s; its progress is shown below.")
                    % {"name": upload.name, "subdomain": form.cleaned_data["subdomain"]},
                )
                return HttpResponseRedirect(reverse("admin:tenants_tenantbackup_changelist"))
        else:
            form = RestoreForm()
        return self._form_page(request, form, gettext("Restore a backup as a new workspace"), multipart=True)

    def _form_page(self, request: HttpRequest, form: forms.Form, title: str, *, multipart: bool) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            "multipart": multipart,
        }
        return TemplateResponse(request, "admin/tenants/tenantbackup/start_form.html", context)

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
        from tenants.backup import job_archive_path, job_download_record

        job = get_object_or_404(TenantBackup, pk=pk, kind=BackupKind.BACKUP)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        archive = job_archive_path(job=job)
        if archive is None:
            raise Http404(gettext("This archive is not available."))
        job_download_record(job=job, actor=request.user)  # type: ignore[arg-type]
        return FileResponse(archive.open("rb"), as_attachment=True, filename=archive.name)
