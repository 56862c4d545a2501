"""Operator admin on the bare domain (staff only): tenants, domains, users, tenant migration status."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tenants.models import Domain, Tenant, TenantMigration, User, WorkspaceMembership
from tenants.selectors import tenant_list_with_member_counts


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("schema_name", "name", "status", "created_at", "member_count")
    list_filter = ("status",)
    search_fields = ("schema_name", "name")
    readonly_fields = ("schema_name", "created_at")
    fields = ("schema_name", "name", "status", "plan_code", "created_at")
    inlines = [DomainInline]

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
