"""Engine models: the abstract CrmRecord and the per-tenant metadata every module shares."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.audit.context import acting_via
from saas.fields import ModuleKeyField


class CrmRecord(models.Model):
    """Base of every module's model: identity, numbering, ownership, audit columns, tags,
    custom field values, full-text vector, soft delete and an optimistic-concurrency version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(_("number"), max_length=40, unique=True, editable=False)
    owner = models.ForeignKey(
        "access.Member",
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    owner_group = models.ForeignKey(
        "access.Group",
        verbose_name=_("owner group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        "access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        "access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("modified"), default=timezone.now, editable=False)
    tags = ArrayField(models.CharField(max_length=50), verbose_name=_("tags"), default=list, blank=True)
    custom_data = models.JSONField(default=dict, blank=True, editable=False)
    search_vector = SearchVectorField(null=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        indexes = [
            GinIndex(fields=["search_vector"], name="%(class)s_search"),
            GinIndex(fields=["tags"], name="%(class)s_tags"),
            # The default list: live records, newest first, keyset-paginated on (created_at, id).
            models.Index(
                fields=["-created_at", "-id"],
                name="%(class)s_live_recent",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["owner", "-created_at"], name="%(class)s_owner_recent"),
            models.Index(fields=["deleted_at"], name="%(class)s_deleted", condition=Q(deleted_at__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=True) | Q(owner_group__isnull=True), name="%(class)s_one_owner"
            ),
        ]

    def __str__(self) -> str:
        from crm_apps.engine.registry import UnknownModule, spec_for_record

        try:
            spec = spec_for_record(self)
        except UnknownModule:  # a record of an archived custom module (its number still names it)
            return self.number
        parts = [str(getattr(self, name) or "") for name in spec.title_fields]
        return " ".join(p for p in parts if p).strip() or self.number


class NumberingSequence(models.Model):
    """Per-module record numbers (prefix + next number), editable by tenant admins."""

    module = ModuleKeyField(primary_key=True)
    prefix = models.CharField(_("prefix"), max_length=10)
    next_number = models.PositiveBigIntegerField(_("next number"), default=1)

    def __str__(self) -> str:
        return f"{self.prefix}{self.next_number}"


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    TEXTAREA = "textarea", _("Text area")
    INTEGER = "integer", _("Integer")
    DECIMAL = "decimal", _("Decimal")
    CURRENCY = "currency", _("Currency")
    PERCENT = "percent", _("Percent")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    CHECKBOX = "checkbox", _("Checkbox")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    URL = "url", _("URL")
    PICKLIST = "picklist", _("Picklist")
    MULTIPICKLIST = "multipicklist", _("Multi-select picklist")
    MEMBER = "member", _("Member reference")
    RECORD = "record", _("Record reference")
    # Named parts (address: street, city, ...; geo: lat, lng) declared in `options["parts"]`, stored as one
    # object; created through the API or by an installed app's field type, not offered by the settings form.
    STRUCTURED = "structured", _("Structured value")


class CustomField(models.Model):
    """A tenant-defined field of a module; values live in the record's custom_data under `key`."""

    module = ModuleKeyField()
    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    required = models.BooleanField(_("required"), default=False)
    unique = models.BooleanField(_("unique"), default=False)
    default = models.JSONField(_("default value"), null=True, blank=True)
    # Type options: {"target": "<module>"} for record references, {"max_length": n} for text...
    options = models.JSONField(default=dict, blank=True)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["module", "position", "id"]
        constraints = [models.UniqueConstraint("module", "key", name="customfield_module_key_unique")]

    def __str__(self) -> str:
        return f"{self.module}.{self.key}"

    @property
    def picklist_name(self) -> str:
        return f"cf:{self.module}:{self.key}"


class Picklist(models.Model):
    """A named list of values; standard picklist fields and custom picklist fields both use one."""

    name = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.name


class PicklistValue(models.Model):
    """Records store `value` (stable); `label` can be renamed and `retired` hides it from new choices."""

    picklist = models.ForeignKey(Picklist, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=100)
    label = models.CharField(_("label"), max_length=100)
    # {language: label}: built-in values carry one per language (saas/value_labels.py); the
    # metadata cache shows the member's language, else the workspace's, else `label`.
    labels = models.JSONField(_("translations"), default=dict, blank=True)
    position = models.PositiveIntegerField(default=0)
    color = models.CharField(max_length=7, blank=True)
    retired = models.BooleanField(_("retired"), default=False)

    class Meta:
        ordering = ["picklist", "position", "id"]
        constraints = [models.UniqueConstraint("picklist", "value", name="picklistvalue_unique")]

    def __str__(self) -> str:
        return self.label


class SavedView(models.Model):
    """A saved list: filters, search, ordering and columns; private to its owner or shared."""

    module = ModuleKeyField()
    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    shared = models.BooleanField(_("shared with everyone"), default=False)
    filters = models.JSONField(default=dict, blank=True)
    search = models.CharField(max_length=200, blank=True)
    ordering = models.CharField(max_length=60, blank=True)
    columns = models.JSONField(default=list, blank=True)
    # How the list is shown (crm_apps/engine/list_layout.py): {"columns": [names in order, "custom.<key>"],
    # "widths": {name: px}, "density": "comfortable"|"compact", "page_size": 25|50|100}.
    layout = models.JSONField(default=dict, blank=True)
    # The member's own layout of the module's list when no saved view is chosen (one per member and module).
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["module", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "module"], condition=Q(is_default=True), name="savedview_one_default_per_member"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the member's language (an extension may ship translations of its views)."""
        from crm_apps.engine.metadata import translated_name

        return translated_name("saved_view", self.pk, self.name)


class RecordLink(models.Model):
    """Something attached to one record of any module by (module, record_id): comments, timeline entries,
    follows, recent views, webhook deliveries, and the activities, emails and documents to come.

    Every concrete subclass is a linking model (`crm_apps/engine/links.py`): purging a record deletes
    its links, merging records moves them to the survivor (or keeps them, `link_on_merge`), and a link is
    visible exactly when its record is (`links_visible`). No foreign key: one table serves every module.
    """

    MOVE: ClassVar[str] = "move"
    KEEP: ClassVar[str] = "keep"

    module = ModuleKeyField()
    record_id = models.UUIDField()

    objects: ClassVar[models.Manager[Any]] = models.Manager()

    # records_merge: "move" the merged records' links to the survivor (rows that would repeat a unique
    # row of the survivor are dropped) or "keep" them on the merged records (history of those records).
    link_on_merge: ClassVar[str] = MOVE

    class Meta:
        abstract = True
        # A subclass that replaces `indexes` keeps one whose leading columns are (module, record_id)
        # (checked by `manage.py check`): every link read, purge and merge filters on that pair.
        indexes = [models.Index(fields=["module", "record_id"], name="%(class)s_record")]


def _acting_app() -> str:
    """The OAuth app acting in the current request (crm_apps.audit.context), or "": every entry made
    through an app's token names it, whichever service writes the entry."""
    return (acting_via() or "")[:100]


class TimelineEntry(RecordLink):
    """One event in a record's activity timeline."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        DELETED = "deleted", _("Deleted")
        RESTORED = "restored", _("Restored")
        COMMENTED = "commented", _("Commented")
        RELATED = "related", _("Related record added")
        MERGED = "merged", _("Merged")
        CONVERTED = "converted", _("Converted")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The app whose token made the change (the actor is then the admin who installed it).
    app = models.CharField(max_length=100, blank=True, default=_acting_app, db_default="")
    created_at = models.DateTimeField(default=timezone.now)
    # {"changes": {"field": [old, new]}} / {"comment": id} / {"module": m, "id": id, "label": str}
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["module", "record_id", "-created_at"], name="timeline_record")]

    def __str__(self) -> str:
        return f"{self.kind} {self.module}:{self.record_id}"


class Comment(RecordLink):
    author = models.ForeignKey("access.Member", on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("comment"), max_length=10_000)
    mentions = models.ManyToManyField("access.Member", blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["module", "record_id", "created_at"], name="comment_record")]

    def __str__(self) -> str:
        return f"comment {self.pk}"


class Follow(RecordLink):
    """A member follows (stars) a record: it appears on their home page."""

    member = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(RecordLink.Meta):
        constraints = [models.UniqueConstraint("member", "module", "record_id", name="follow_unique")]

    def __str__(self) -> str:
        return f"follow {self.module}:{self.record_id}"


class RecentView(RecordLink):
    """Records a member opened lately (for the home page)."""

    member = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    viewed_at = models.DateTimeField(default=timezone.now)

    class Meta(RecordLink.Meta):
        constraints = [models.UniqueConstraint("member", "module", "record_id", name="recentview_unique")]
        indexes = [*RecordLink.Meta.indexes, models.Index(fields=["member", "-viewed_at"], name="recentview_member")]

    def __str__(self) -> str:
        return f"viewed {self.module}:{self.record_id}"


class LayoutOverride(models.Model):
    """A tenant's layout of a module: block order, field order per block, hidden optional fields."""

    module = ModuleKeyField(unique=True)
    # {"blocks": ["main", "address"], "fields": {"main": ["a", "b"]}, "hidden": ["fax"]}
    layout = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"layout {self.module}"


class BoardColumnSetting(models.Model):
    """A tenant admin's setting for one column of a board (a value of a picklist field, or a deal stage's
    id): after how many days in that column a card is "rotting"."""

    module = ModuleKeyField()
    field = models.CharField(max_length=80)
    value = models.CharField(max_length=200)
    rotting_days = models.PositiveSmallIntegerField(_("rotting after (days)"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["module", "field", "value"], name="board_column_setting_once"),
        ]

    def __str__(self) -> str:
        return f"{self.module}.{self.field}={self.value}"


class Currency(models.Model):
    """A currency of the workspace with its exchange rate to the base currency (the one row with
    `is_base`, rate 1): amounts are converted as `amount * rate` with Decimal. Issue 19's currency
    management extends this table (history of rates, formats); today it is what board totals read."""

    code = models.CharField(_("code"), max_length=3, unique=True)
    rate = models.DecimalField(_("rate to the base currency"), max_digits=20, decimal_places=10, default=1)
    is_base = models.BooleanField(_("base currency"), default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_base", "code"]
        constraints = [
            models.UniqueConstraint(fields=["is_base"], condition=Q(is_base=True), name="currency_one_base"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="currency_rate_positive"),
        ]

    def __str__(self) -> str:
        return self.code
