"""Public-schema models: tenants, their domains, global users and the workspace directory."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_tenants.models import DomainMixin, TenantMixin

from saas.timezones import time_zone_names


def validate_timezone_name(value: str) -> None:
    """An IANA time zone name the server's zoneinfo knows (Europe/Riga, America/New_York, UTC)."""
    from django.core.exceptions import ValidationError

    if value not in time_zone_names():
        raise ValidationError(_("Unknown time zone."), code="invalid")


class TenantStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("workspace status", "Active")
    READ_ONLY = "read_only", pgettext_lazy("workspace status", "Read-only")
    SUSPENDED = "suspended", pgettext_lazy("workspace status", "Suspended")


class BillingStage(models.TextChoices):
    """Where billing's dunning has taken a workspace (ADR 0012); empty when payments are in order."""

    PAST_DUE = "past_due", pgettext_lazy("billing stage", "Payment overdue")
    READ_ONLY = "read_only", pgettext_lazy("billing stage", "Read-only until paid")
    SUSPENDED = "suspended", pgettext_lazy("billing stage", "Suspended until paid")


class Tenant(TenantMixin):
    """A customer organisation; its slug is its PostgreSQL schema name and subdomain."""

    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(_("status"), max_length=16, choices=TenantStatus.choices, default=TenantStatus.ACTIVE)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Filled in by billing (issue 5): the code of the plan the tenant is on.
    plan_code = models.CharField(_("plan"), max_length=40, blank=True)
    # Set by billing only (dunning). Kept on the tenant because the tenant is cached with its domain:
    # the banner, the billing suspension and the entitlement checks cost no query per request.
    billing_stage = models.CharField(_("billing stage"), max_length=16, choices=BillingStage.choices, blank=True)
    # The language built-in values (picklists, stages, roles...) were created in, and the fallback for a
    # member whose language has no label of a value (docs/adr/0026-value-labels.md).
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="en")
    # Members are signed out after this many minutes without a request (0: only the cookie's age applies).
    # Kept on the tenant, which is cached with its domain: checking it costs no query per request.
    session_idle_minutes = models.PositiveIntegerField(_("sign out after inactivity (minutes)"), default=0)
    # The workspace's own clock (an IANA name): schedules of automation run on it. UTC, like a new member's
    # own time zone, until a tenant admin chooses one (Finance > Company details). Cached with the domain too.
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone_name])
    # A partner's development workspace (marketplace/apps/sandbox.py): no billing, a small records limit,
    # left out of operators' revenue figures, labelled on every page. Cached with the domain like the rest.
    is_sandbox = models.BooleanField(_("partner sandbox"), default=False)

    # Schemas are created explicitly by tenants.services.tenant_provision inside the signup transaction.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["schema_name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=(username or "").strip())

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively; we store them lower-cased and trimmed."""
    return email.strip().lower()


class User(AbstractBaseUser, PermissionsMixin):
    """A global identity (public schema). Tenant access comes from a tenant-side Member row."""

    # Stored lower-cased (normalize_email); the Lower() constraint also guards raw writes.
    email = models.EmailField(_("email address"), max_length=254, unique=True)
    name = models.CharField(_("name"), max_length=150)
    is_staff = models.BooleanField(
        _("operator"), default=False, help_text=_("Platform staff may use the operator admin.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


class WorkspaceMembership(models.Model):
    """Directory of which users belong to which tenants, kept in step with tenant-side Members.

    Lets "find my workspaces" and operator counts work without visiting every schema.
    """

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="workspaces")
    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="memberships")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("workspace membership")
        verbose_name_plural = _("workspace memberships")
        constraints = [models.UniqueConstraint("user", "tenant", name="membership_user_tenant_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.tenant_id}"


class PoolSchema(models.Model):
    """A pre-migrated, empty tenant schema of the warm pool, waiting for a signup to claim it (ADR 0008).

    Never a tenant: no Tenant or Domain row names it, so neither routing nor any per-tenant loop
    reaches it. A claim renames the schema to the new tenant's slug and sets `claimed_at`.
    """

    name = models.CharField(max_length=63, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The migrations the schema was brought to (tenants.pool.migration_fingerprint()); a schema
    # whose fingerprint differs from the running code's is never handed out.
    fingerprint = models.CharField(max_length=64)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_as = models.CharField(max_length=63, blank=True)
    # The one schema never claimed: copied (tenants/schema_clone.py) when no pool schema is ready.
    is_template = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["fingerprint", "created_at"],
                name="poolschema_ready_idx",
                condition=models.Q(claimed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return self.name


class LoginHandover(models.Model):
    """A single-use, short-lived login hand-over from the public site to a tenant host."""

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"handover {self.pk}"


class SchemaMigrationStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("migration status", "Pending")
    RUNNING = "running", pgettext_lazy("migration status", "Running")
    DONE = "done", pgettext_lazy("migration status", "Done")
    FAILED = "failed", pgettext_lazy("migration status", "Failed")
    SKIPPED = "skipped", pgettext_lazy("migration status", "Skipped")


class TenantMigration(models.Model):
    """Where one schema (tenant or pool) stands in bringing it to one version of the code's migrations
    (`manage.py migrate_tenants`, tenants/migrate_fast.py). One row per schema and version: a rerun
    continues from these rows, operators read them in the console."""

    schema_name = models.CharField(_("schema"), max_length=63)
    kind = models.CharField(_("kind"), max_length=16)  # tenant, pool or template
    # tenants.pool.migration_fingerprint() of the code that ran: one deploy's set of migrations.
    version = models.CharField(_("version"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=SchemaMigrationStatus.choices, default=SchemaMigrationStatus.PENDING
    )
    method = models.CharField(_("method"), max_length=16, blank=True)  # sql, executor or "" (nothing to do)
    applied = models.PositiveIntegerField(_("migrations applied"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("tenant migration")
        verbose_name_plural = _("tenant migrations")
        constraints = [models.UniqueConstraint("schema_name", "version", name="tenantmigration_schema_version")]
        indexes = [models.Index(fields=["version", "status"], name="tenantmigration_status_idx")]

    def __str__(self) -> str:
        return f"{self.schema_name} @ {self.version[:12]}"


class BackupKind(models.TextChoices):
    BACKUP = "backup", pgettext_lazy("tenant backup kind", "Backup")
    RESTORE_NEW = "restore_new", pgettext_lazy("tenant backup kind", "Restore as a new workspace")
    RESTORE_OVER = "restore_over", pgettext_lazy("tenant backup kind", "Restore over itself")


class BackupStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("tenant backup status", "Queued")
    RUNNING = "running", pgettext_lazy("tenant backup status", "Running")
    DONE = "done", pgettext_lazy("tenant backup status", "Done")
    FAILED = "failed", pgettext_lazy("tenant backup status", "Failed")


class TenantBackup(models.Model):
    """One operator backup or restore of a tenant (tenants/backup.py): its progress while it runs, and
    afterwards the record of who did what, why and with which archive. Rows are never edited by people."""

    kind = models.CharField(_("kind"), max_length=16, choices=BackupKind.choices)
    # The tenant backed up or restored into (kept as text too: the tenant may be deleted later).
    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.SET_NULL, null=True, blank=True, related_name="backups"
    )
    schema_name = models.CharField(_("workspace"), max_length=63)
    operator = models.ForeignKey(
        User, verbose_name=_("operator"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    operator_label = models.CharField(_("operator"), max_length=254, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=BackupStatus.choices, default=BackupStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    stage = models.CharField(_("stage"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    # Relative to TENANT_BACKUP_ROOT: the archive written (backup) or read (restore).
    archive = models.CharField(_("archive"), max_length=300, blank=True)
    size = models.BigIntegerField(_("size (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tenant backup")
        verbose_name_plural = _("tenant backups")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.schema_name} {self.created_at:%Y-%m-%d %H:%M}"
