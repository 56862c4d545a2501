"""The audit trail of a tenant: append-only events (enforced by a database trigger) and its retention."""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas.fields import ModuleKeyField

RETENTION_DEFAULT_DAYS = 365
RETENTION_MIN_DAYS = 30
RETENTION_MAX_DAYS = 3650


class AuditAction(models.TextChoices):
    LOGIN_SUCCEEDED = "login_succeeded", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Failed sign-in")
    RECORD_CREATED = "record_created", _("Record created")
    RECORD_UPDATED = "record_updated", _("Record changed")
    RECORD_DELETED = "record_deleted", _("Record deleted")
    RECORD_RESTORED = "record_restored", _("Record restored")
    RECORDS_MERGED = "records_merged", _("Records merged")
    EXPORT = "export", _("Export")
    PERMISSION_CHANGED = "permission_changed", _("Permissions changed")
    SETTINGS_CHANGED = "settings_changed", _("Settings changed")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    MEMBER_CHANGED = "member_changed", _("Member changed")
    IMPORT = "import", _("Import")
    IMPORT_UNDONE = "import_undone", _("Import undone")
    MFA_CHANGED = "mfa_changed", _("Two-factor settings changed")
    MFA_VERIFIED = "mfa_verified", _("Second factor verified")
    MFA_FAILED = "mfa_failed", _("Wrong second factor")
    # Each REST call an OAuth app makes (marketplace/apps/authentication.py), with its method and path.
    API_CALL = "api_call", _("API call by an app")


class AuditEvent(models.Model):
    """Something that happened in this tenant. Never updated; deleted only by the retention purge.

    The actor is a plain member id, not a foreign key, and `actor_label` keeps their email as it was:
    deleting or renaming a member never rewrites history.
    """

    at = models.DateTimeField(_("time"), default=timezone.now)
    actor_id = models.BigIntegerField(_("actor"), null=True, blank=True)
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices)
    module = ModuleKeyField(_("module"), blank=True)
    record_id = models.CharField(_("record ID"), max_length=64, blank=True)
    record_label = models.CharField(_("record"), max_length=200, blank=True)
    # field -> [old, new]
    changes = models.JSONField(_("changes"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_at_idx"),
            models.Index(fields=["module", "-at"], name="audit_module_at_idx"),
            models.Index(fields=["actor_id", "-at"], name="audit_actor_at_idx"),
            models.Index(fields=["record_id", "-at"], name="audit_record_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} at {self.at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Audit events are append-only; only the retention purge removes them.")


class AuditSettings(models.Model):
    """The tenant's audit settings: one row (id 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    retention_days = models.PositiveIntegerField(
        _("keep events for (days)"),
        default=RETENTION_DEFAULT_DAYS,
        validators=[MinValueValidator(RETENTION_MIN_DAYS), MaxValueValidator(RETENTION_MAX_DAYS)],
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("audit settings")
        verbose_name_plural = _("audit settings")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_settings_singleton")]

    def __str__(self) -> str:
        return f"audit settings ({self.retention_days} days)"
