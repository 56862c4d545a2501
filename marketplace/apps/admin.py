"""Operator console for OAuth apps: the review queue of app versions (redirect URIs and scopes),
suspending an app platform-wide (its tokens stop at once) and the installations (read-only).
django-oauth-toolkit's own admin pages for these models are replaced."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from marketplace.apps import services
from marketplace.apps.models import (
    AccessToken,
    App,
    AppInstallation,
    AppVersion,
    Grant,
    IDToken,
    PartnerSandbox,
    RefreshToken,
)
from marketplace.apps.usage import app_usage
from marketplace.catalog.admin import VersionReviewForm

for model in (App, AccessToken, Grant, IDToken, RefreshToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class AppVersionReviewForm(VersionReviewForm):
    """The operators' review of an app version: the listing versions' decision and rule, on AppVersion."""

    class Meta(VersionReviewForm.Meta):
        model = AppVersion  # type: ignore[assignment]  # the same form on the app versions


@admin.register(AppVersion)
class AppVersionAdmin(admin.ModelAdmin):
    form = AppVersionReviewForm
    list_display = ["app", "number", "state", "created_at", "reviewed_by", "reviewed_at"]
    list_filter = ["state"]
    search_fields = ["app__name", "app__client_id"]
    readonly_fields = (
        "app",
        "number",
        "redirect_uris",
        "scopes",
        "state",
        "reviewed_by",
        "reviewed_at",
        "submitted_by",
        "created_at",
    )
    fields = (*readonly_fields, "decision", "review_notes")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: AppVersion, form: Any, change: bool) -> None:
        decision = form.cleaned_data.get("decision")
        if not decision:
            obj.save(update_fields=["review_notes"])
            return
        try:
            services.app_version_review(
                version=obj,
                reviewer=request.user,  # type: ignore[arg-type]
                approve=decision == "approve",
                notes=form.cleaned_data.get("review_notes") or "",
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))


class AppSuspendForm(forms.ModelForm):
    suspension = forms.ChoiceField(
        label=_("Suspension"),
        choices=[
            ("", _("Keep as is")),
            ("suspend", _("Suspend on every workspace")),
            ("lift", _("Lift the suspension")),
        ],
        required=False,
    )

    class Meta:
        model = App
        fields = ["suspended_reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("suspension") == "suspend" and not (data.get("suspended_reason") or "").strip():
            raise ValidationError({"suspended_reason": _("Say why the app is suspended.")})
        return data


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    form = AppSuspendForm
    list_display = ["name", "partner", "client_id", "approved", "status", "live_installs"]
    list_filter = ["status", "approved"]
    search_fields = ["name", "client_id", "partner__name"]
    readonly_fields = (
        "name",
        "partner",
        "listing",
        "client_id",
        "redirect_uris",
        "scopes",
        "approved",
        "status",
        "suspended_at",
        "secret_rotated_at",
        "created",
        "usage",
    )
    fields = (*readonly_fields, "suspension", "suspended_reason")

    @admin.display(description=_("usage, last 30 days"))
    def usage(self, obj: App) -> str:
        if obj.pk is None:
            return "—"
        return render_to_string(
            "marketplace/apps/_usage.html", {"usage": app_usage(app=obj, days=30, per_workspace=True), "days": 30}
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[App]:
        return (
            super()
            .get_queryset(request)
            .select_related("partner")
            .annotate(_installs=Count("installations", filter=Q(installations__state="installed")))
        )

    @admin.display(description=_("installs"))
    def live_installs(self, obj: App) -> int:
        return int(getattr(obj, "_installs", 0))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # partners register apps in the portal

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # suspend instead: deleting would drop installations without a trace

    def save_model(self, request: HttpRequest, obj: App, form: Any, change: bool) -> None:
        choice = form.cleaned_data.get("suspension")
        operator: Any = request.user
        try:
            if choice == "suspend":
                services.app_suspend(app=obj, operator=operator, reason=form.cleaned_data.get("suspended_reason") or "")
            elif choice == "lift":
                services.app_unsuspend(app=obj, operator=operator)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))


@admin.register(AppInstallation)
class AppInstallationAdmin(admin.ModelAdmin):
    list_display = ["app", "tenant", "state", "app_status", "installed_at", "uninstalled_at"]
    list_filter = ["state", "app__status"]
    search_fields = ["app__name", "tenant__schema_name"]
    readonly_fields = ("app", "tenant", "user", "scopes", "state", "installed_at", "uninstalled_at")
    fields = readonly_fields

    @admin.display(description=_("app status"))
    def app_status(self, obj: AppInstallation) -> str:
        return str(obj.app.get_status_display())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PartnerSandbox)
class PartnerSandboxAdmin(admin.ModelAdmin):
    list_display = ["tenant", "partner", "created_by", "created_at"]
    search_fields = ["partner__name", "tenant__schema_name"]
    readonly_fields = ("tenant", "partner", "created_by", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # partners create them in the portal

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
