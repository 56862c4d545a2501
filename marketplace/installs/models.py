"""Inside a tenant schema: the extensions installed here, every object each one created (so upgrade and
uninstall know what is theirs), their outgoing webhook subscriptions and deliveries, and their label
translations."""

from __future__ import annotations

import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm_apps.engine.models import RecordLink


class InstallationState(models.TextChoices):
    INSTALLED = "installed", pgettext_lazy("extension", "Installed")
    UNINSTALLED = "uninstalled", pgettext_lazy("extension", "Uninstalled")


class ExtensionInstallation(models.Model):
    """One extension in this workspace: the version and manifest applied, its API token and state."""

    listing_id = models.BigIntegerField(unique=True)  # catalog.Listing in `public`
    slug = models.SlugField(max_length=50)
    name = models.CharField(_("name"), max_length=100)
    version = models.CharField(_("version"), max_length=40)
    manifest = models.JSONField(default=dict)
    state = models.CharField(max_length=12, choices=InstallationState.choices, default=InstallationState.INSTALLED)
    installed_by = models.ForeignKey("access.Member", null=True, on_delete=models.SET_NULL, related_name="+")
    token = models.ForeignKey("access.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    token_prefix = models.CharField(max_length=12, blank=True)
    installed_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    uninstalled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("installed extension")
        verbose_name_plural = _("installed extensions")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def is_installed(self) -> bool:
        return self.state == InstallationState.INSTALLED


class OwnedKind(models.TextChoices):
    CUSTOM_MODULE = "custom_module", _("Custom module")
    CUSTOM_FIELD = "custom_field", _("Custom field")
    PICKLIST_VALUE = "picklist_value", _("Picklist value")
    PIPELINE = "pipeline", _("Pipeline")
    SAVED_VIEW = "saved_view", _("Saved view")
    WEBHOOK = "webhook", _("Webhook")


class OwnedObject(models.Model):
    """An object an installation created, by the manifest's stable identity (`deals.arr`)."""

    installation = models.ForeignKey(ExtensionInstallation, on_delete=models.CASCADE, related_name="owned")
    kind = models.CharField(max_length=20, choices=OwnedKind.choices)
    ident = models.CharField(max_length=250)
    object_id = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint("installation", "kind", "ident", name="ownedobject_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.ident}"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookSubscription(models.Model):
    """Record events delivered to a partner's URL, signed with this subscription's secret."""

    installation = models.ForeignKey(ExtensionInstallation, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    events = ArrayField(models.CharField(max_length=60), default=list)
    secret = models.CharField(max_length=80, default=new_secret)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("delivery", "Pending")
    SUCCEEDED = "succeeded", pgettext_lazy("delivery", "Delivered")
    FAILED = "failed", pgettext_lazy("delivery", "Failed")
    REFUSED = "refused", pgettext_lazy("delivery", "Refused (unsafe address)")


class WebhookDelivery(RecordLink):
    """One event for one subscription: the body sent, every attempt's outcome.

    A link of the record the event is about (`module` is the event's prefix): the payload copies the
    record's values, so purging the record deletes its deliveries; a merge keeps them on the merged
    record (they tell what was sent about that record), and they go when it is purged."""

    link_on_merge = RecordLink.KEEP

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta(RecordLink.Meta):
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} {self.record_id} ({self.status})"


class LabelTranslation(models.Model):
    """A label an extension added, in another language; shown to members who use that language."""

    installation = models.ForeignKey(ExtensionInstallation, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=10)
    source = models.CharField(max_length=100)
    text = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint("installation", "language", "source", name="labeltranslation_unique")]
        indexes = [models.Index(fields=["language"], name="labeltranslation_language")]

    def __str__(self) -> str:
        return f"{self.language}: {self.source}"
