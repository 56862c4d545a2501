"""Operators can see and remove a user's second factors (a person who lost phone, key and codes)."""

from django.contrib import admin
from django.http import HttpRequest

from tenants.mfa.models import RememberedDevice, TotpDevice, WebAuthnCredential, WorkspaceMfaPolicy


@admin.register(TotpDevice)
class TotpDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "confirmed_at", "created_at"]
    search_fields = ["user__email"]
    fields = ["user", "confirmed_at", "created_at"]  # never the secret
    readonly_fields = ["user", "confirmed_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebAuthnCredential)
class WebAuthnCredentialAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "created_at", "last_used_at"]
    search_fields = ["user__email", "name"]
    fields = ["user", "name", "created_at", "last_used_at"]
    readonly_fields = ["user", "name", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RememberedDevice)
class RememberedDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "scope", "label", "expires_at", "revoked_at"]
    search_fields = ["user__email"]
    fields = ["user", "scope", "label", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "scope", "label", "created_at", "expires_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WorkspaceMfaPolicy)
class WorkspaceMfaPolicyAdmin(admin.ModelAdmin):
    list_display = ["tenant", "required", "changed_at"]
