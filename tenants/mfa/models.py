"""Second factors of a global user (public schema): they belong to the identity, not to one workspace.

A user signs in to several workspaces, the partner portal and (operators) the console with one email and
password; the second factor proves the same person, so it is enrolled once and asked everywhere
(docs/mfa.md). What is per place: the remembered devices (bound to the host they were remembered on) and
the workspace's policy.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TotpDevice(models.Model):
    """An authenticator app's shared secret; usable once confirmed with a code."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="totp_device"
    )
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The time step of the last accepted code: a code of this step or an earlier one is refused (no replay).
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    def __str__(self) -> str:
        return f"totp {self.user_id}"


class WebAuthnCredential(models.Model):
    """A security key or passkey registered by the user (py_webauthn)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="webauthn_keys"
    )
    name = models.CharField(_("name"), max_length=60)
    credential_id = models.BinaryField(max_length=1023)
    credential_id_hash = models.CharField(max_length=64, unique=True)
    public_key = models.BinaryField(max_length=2048)
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("security key")
        verbose_name_plural = _("security keys")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class RecoveryCode(models.Model):
    """One single-use recovery code, stored as a SHA-256 of its random value (never the code itself)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("user", "code_hash", name="mfa_recovery_user_hash_unique")]

    def __str__(self) -> str:
        return f"recovery {self.pk}"


class RememberedDevice(models.Model):
    """A browser that may skip the second factor for 30 days on one host (a workspace, or the public site).

    The browser holds a signed cookie naming this row and a random secret whose hash is kept here;
    revoking the row (or its expiry) ends it whatever the cookie says.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="remembered_devices"
    )
    # Where it was remembered: a tenant's schema name, or "public" (partner portal and console).
    scope = models.CharField(_("where"), max_length=63)
    secret_hash = models.CharField(max_length=64)
    label = models.CharField(_("device"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("remembered on"), default=timezone.now)
    expires_at = models.DateTimeField(_("until"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("remembered device")
        verbose_name_plural = _("remembered devices")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.label or 'device'} ({self.scope})"


class WorkspaceMfaPolicy(models.Model):
    """A workspace's rule: every member must use a second factor (members without one enrol at sign-in)."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="mfa_policy")
    required = models.BooleanField(_("require two-factor authentication"), default=False)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"mfa policy {self.tenant_id}: {self.required}"
