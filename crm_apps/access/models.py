"""Tenant-side identity: who belongs to this tenant, pending invitations, API tokens."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.access.formats import DATE_CHOICES, NUMBER_CHOICES, TIME_CHOICES
from saas.fields import ModuleKeyField
from saas.timezones import time_zone_names


def validate_timezone(value: str) -> None:
    if value not in time_zone_names():
        raise ValidationError(_("Unknown time zone."), code="invalid")


class Member(models.Model):
    """A global user's membership of this tenant. Without an active Member, a user is a stranger here."""

    # No database-level FK into `public`: such a constraint makes every tenant migration lock the
    # shared users table (concurrent signups deadlocked on it). Users are deactivated, never deleted,
    # and Django must not look for members in `public` when a user row is deleted: DO_NOTHING.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("user"),
        db_constraint=False,
    )
    is_admin = models.BooleanField(_("administrator"), default=False)
    active = models.BooleanField(_("active"), default=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="en")
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    joined_at = models.DateTimeField(_("joined"), default=dj_timezone.now)
    deactivated_at = models.DateTimeField(_("deactivated"), null=True, blank=True)
    # Sessions remember the epoch they were created in; deactivation bumps it, ending them all.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    # Where the member sits in the role hierarchy (decides what they see when modules are private).
    role = models.ForeignKey(
        "access.Role", on_delete=models.PROTECT, null=True, blank=True, related_name="members", verbose_name=_("role")
    )
    # Set when the membership comes from a partner's delegated access (marketplace.partners): the id of
    # the public Partner (no FK into `public`, as for `user`). Revoking the grant deactivates them.
    partner_id = models.BigIntegerField(_("partner"), null=True, blank=True, db_index=True)
    # Interface preferences (frontend/preferences.py): colour theme, and the sidebar's order, hidden
    # modules and collapsed groups ({"order": [module keys], "hidden": [...], "collapsed": [group keys]}).
    theme = models.CharField(
        _("theme"),
        max_length=8,
        choices=[("system", _("System")), ("light", _("Light")), ("dark", _("Dark"))],
        default="system",
    )
    sidebar = models.JSONField(_("sidebar"), default=dict, blank=True)
    # How dates, times and numbers are shown and typed ("" = the language's formats): access/formats.py.
    date_format = models.CharField(_("date format"), max_length=12, choices=DATE_CHOICES, default="", blank=True)
    time_format = models.CharField(_("time format"), max_length=12, choices=TIME_CHOICES, default="", blank=True)
    number_format = models.CharField(_("number format"), max_length=12, choices=NUMBER_CHOICES, default="", blank=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["joined_at", "id"]

    def __str__(self) -> str:
        return f"member {self.pk}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The member's time zone (UTC when the stored name is not a known zone)."""
        try:
            return zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")


class Invitation(models.Model):
    """An emailed, expiring invitation to join this tenant."""

    email = models.EmailField(_("email address"), max_length=254)
    is_admin = models.BooleanField(_("administrator"), default=False)
    invited_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The role the new member gets (None: the tenant's default role for new members).
    role = models.ForeignKey("access.Role", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "email",
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_pending_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > dj_timezone.now()


class ApiToken(models.Model):
    """A member's API token. Only a hash is stored; the token is shown once, at creation."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    # None: the member's own rights. A list ("deals:read", "deals:write"...): an extension's token,
    # usable only on those modules (crm_apps/access/api/scopes.py), within the member's rights.
    scopes = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=dj_timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Group(models.Model):
    """A named group: members, roles, roles with their subordinates and other groups. A record may be
    owned by a group; its members see and edit it as if they owned it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    # {language: text}: the name in each language (saas/value_labels.py); shown by display_name.
    labels = models.JSONField(_("translations"), default=dict, blank=True)
    description = models.CharField(_("description"), max_length=250, blank=True)
    members = models.ManyToManyField(Member, blank=True, related_name="groups", verbose_name=_("members"))
    roles = models.ManyToManyField("access.Role", blank=True, related_name="+", verbose_name=_("roles"))
    roles_with_subordinates = models.ManyToManyField(
        "access.Role", blank=True, related_name="+", verbose_name=_("roles and their subordinates")
    )
    subgroups = models.ManyToManyField(
        "self", blank=True, symmetrical=False, related_name="parent_groups", verbose_name=_("groups")
    )
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the member's language, else the workspace's, else as stored."""
        from saas.value_labels import label_pick

        return label_pick(self.labels, self.name)


class Profile(models.Model):
    """A set of permissions: per module actions, per field access and global privileges. A role carries
    one or more profiles; the most permissive wins per permission."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    # {language: text}: the name in each language (saas/value_labels.py); shown by display_name.
    labels = models.JSONField(_("translations"), default=dict, blank=True)
    description = models.CharField(_("description"), max_length=250, blank=True)
    # Module actions for every module without its own row below (so new modules get a sensible default).
    default_view = models.BooleanField(_("view"), default=True)
    default_create = models.BooleanField(_("create"), default=True)
    default_edit = models.BooleanField(_("edit"), default=True)
    default_delete = models.BooleanField(_("delete"), default=True)
    # Global privileges.
    view_all = models.BooleanField(_("view all records"), default=False)
    edit_all = models.BooleanField(_("edit all records"), default=False)
    can_import = models.BooleanField(_("import"), default=True)
    can_export = models.BooleanField(_("export"), default=True)
    manage_settings = models.BooleanField(_("manage module settings"), default=False)
    manage_members = models.BooleanField(_("manage members"), default=False)
    manage_billing = models.BooleanField(_("manage billing"), default=False)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the member's language, else the workspace's, else as stored."""
        from saas.value_labels import label_pick

        return label_pick(self.labels, self.name)


class ProfileModule(models.Model):
    """A profile's actions on one module (overrides the profile's defaults)."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="module_rights")
    module = ModuleKeyField()
    # "can_" because a field named `delete` would hide Model.delete().
    can_view = models.BooleanField(_("view"), default=True)
    can_create = models.BooleanField(_("create"), default=True)
    can_edit = models.BooleanField(_("edit"), default=True)
    can_delete = models.BooleanField(_("delete"), default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["profile", "module"], name="profile_module_once")]

    def __str__(self) -> str:
        return f"{self.profile_id}:{self.module}"


class ProfileField(models.Model):
    """A field a profile hides or makes read-only (fields without a row are read-write)."""

    class Access(models.TextChoices):
        HIDDEN = "hidden", _("Hidden")
        READ_ONLY = "readonly", _("Read-only")

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="field_rights")
    module = ModuleKeyField()
    field = models.CharField(max_length=80)
    access = models.CharField(max_length=10, choices=Access.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["profile", "module", "field"], name="profile_field_once")]

    def __str__(self) -> str:
        return f"{self.profile_id}:{self.module}.{self.field}={self.access}"


class Role(models.Model):
    """A node of the role hierarchy. `path` lists the ids from the top down ("1.4.9.") so that a role's
    subordinates are the roles whose path starts with its own."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("reports to")
    )
    # {language: text}: the name in each language (saas/value_labels.py); shown by display_name.
    labels = models.JSONField(_("translations"), default=dict, blank=True)
    path = models.CharField(max_length=1000, db_index=True, editable=False)
    profiles = models.ManyToManyField(Profile, related_name="roles", verbose_name=_("profiles"))
    # The role members get when they join without one chosen (exactly one role has it).
    default_for_new = models.BooleanField(_("default for new members"), default=False)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["path"]
        constraints = [
            # One top (the organisation itself).
            models.UniqueConstraint(models.Value(True), condition=Q(parent__isnull=True), name="role_single_top"),
            models.UniqueConstraint(models.Value(True), condition=Q(default_for_new=True), name="role_single_default"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the member's language, else the workspace's, else as stored."""
        from saas.value_labels import label_pick

        return label_pick(self.labels, self.name)

    @property
    def depth(self) -> int:
        return self.path.count(".") - 1


class SharingDefault(models.Model):
    """A module's organisation-wide default (modules without a row are public read/write/delete)."""

    class Access(models.TextChoices):
        PRIVATE = "private", _("Private")
        PUBLIC_READ = "public_read", _("Public: read only")
        PUBLIC_READ_WRITE = "public_read_write", _("Public: read, create/edit")
        PUBLIC_READ_WRITE_DELETE = "public_read_write_delete", _("Public: read, create/edit, delete")

    module = ModuleKeyField(unique=True)
    access = models.CharField(max_length=30, choices=Access.choices, default=Access.PUBLIC_READ_WRITE_DELETE)
    # Private modules: members in superior roles see (and edit) their subordinates' records.
    superiors_see = models.BooleanField(_("superiors see subordinates' records"), default=True)
    # Modules with a parent (contacts -> organisation): a record is also visible when its parent is.
    follow_parent = models.BooleanField(_("visible with the parent record"), default=True)

    def __str__(self) -> str:
        return f"{self.module}: {self.access}"


class SharingRule(models.Model):
    """Records of `module` owned by the source are shared with the target, read-only or read/write."""

    class Kind(models.TextChoices):
        ROLE = "role", _("Role")
        ROLE_AND_SUBORDINATES = "role_sub", _("Role and subordinates")
        GROUP = "group", _("Group")

    class Access(models.TextChoices):
        READ = "read", _("Read only")
        READ_WRITE = "read_write", _("Read/write")

    module = ModuleKeyField(db_index=True)
    source_kind = models.CharField(max_length=10, choices=Kind.choices)
    source_role = models.ForeignKey(Role, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    source_group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    target_kind = models.CharField(max_length=10, choices=Kind.choices)
    target_role = models.ForeignKey(Role, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    target_group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    access = models.CharField(max_length=10, choices=Access.choices, default=Access.READ)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["module", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(source_kind="group", source_group__isnull=False, source_role__isnull=True))
                | (~Q(source_kind="group") & Q(source_role__isnull=False, source_group__isnull=True)),
                name="sharing_rule_source_shape",
            ),
            models.CheckConstraint(
                condition=(Q(target_kind="group", target_group__isnull=False, target_role__isnull=True))
                | (~Q(target_kind="group") & Q(target_role__isnull=False, target_group__isnull=True)),
                name="sharing_rule_target_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"sharing rule {self.pk} ({self.module})"


class MemberSession(models.Model):
    """A signed-in browser session of a member on this workspace (the session itself is Django's, in
    this schema's session table): listed on the profile page, revocable, touched at most once a minute."""

    session_key = models.CharField(max_length=40, unique=True)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField(_("signed in"), default=dj_timezone.now)
    last_seen_at = models.DateTimeField(_("last active"), default=dj_timezone.now)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        indexes = [models.Index(fields=["member", "-last_seen_at"], name="member_session_recent")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.session_key[:6]}…"
