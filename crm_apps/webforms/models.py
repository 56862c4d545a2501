"""Web forms: a tenant's public capture forms, what visitors sent through them, and daily statistics."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saas.fields import ModuleKeyField


def new_public_key() -> str:
    """The unguessable part of the form's public address (the form's id never appears in it)."""
    return secrets.token_urlsafe(18)


class WebForm(models.Model):
    """A form for one module. `fields` is the ordered list of what a visitor fills in:
    `{"field": "last_name" | "custom.<key>" | "<name>" (upload), "label", "placeholder", "required",
    "upload"}`; `hidden` holds fixed values written into every record; `capture` maps what the visit
    tells (`utm_source`, ..., `referrer`, `landing_page`) to a field of the record."""

    name = models.CharField(_("name"), max_length=120)
    module = ModuleKeyField()
    public_key = models.CharField(max_length=40, unique=True, default=new_public_key)
    active = models.BooleanField(_("active"), default=True)
    fields = models.JSONField(default=list, blank=True)
    hidden = models.JSONField(default=dict, blank=True)
    capture = models.JSONField(default=dict, blank=True)
    consent_text = models.TextField(_("consent text"), blank=True, max_length=2000)
    success_message = models.CharField(_("success message"), max_length=500, blank=True)
    redirect_url = models.URLField(_("redirect URL"), max_length=500, blank=True)
    owner = models.ForeignKey(
        "access.Member", verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_group = models.ForeignKey(
        "access.Group",
        verbose_name=_("group (round robin)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notify_owner = models.BooleanField(_("notify the owner"), default=True)
    dedupe_by_email = models.BooleanField(_("link to an existing record with the same email"), default=True)
    allowed_origins = models.JSONField(default=list, blank=True)
    min_seconds = models.PositiveSmallIntegerField(_("minimum seconds before sending"), default=0)
    ip_limit_per_hour = models.PositiveIntegerField(_("submissions per address per hour"), default=10)
    form_limit_per_hour = models.PositiveIntegerField(_("submissions per hour"), default=500)
    max_field_chars = models.PositiveIntegerField(_("longest value (characters)"), default=2000)
    # Built-in proof of work: 0 off, else the leading zero bits the sender's browser must find (guard.py).
    proof_of_work_bits = models.PositiveSmallIntegerField(_("proof of work (bits, 0: off)"), default=0)
    created_by = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Submission(models.Model):
    """One attempt to send a form: accepted (with the record it made or found) or rejected with a reason."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    class Reason(models.TextChoices):
        NONE = "", _("—")
        INVALID = "invalid", _("Invalid or missing values")
        HONEYPOT = "honeypot", _("Hidden trap field filled")
        TOO_FAST = "too_fast", _("Sent too fast")
        RATE_LIMITED = "rate_limited", _("Too many submissions")
        TOO_LARGE = "too_large", _("Too large")
        INACTIVE = "inactive", _("Form switched off")
        ORIGIN = "origin", _("Site not allowed")
        CHALLENGE = "challenge", _("Challenge not passed")

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="submissions")
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    values = models.JSONField(default=dict, blank=True)
    module = ModuleKeyField(blank=True, default="")
    record_id = models.UUIDField(null=True, blank=True)
    linked = models.BooleanField(default=False)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    origin = models.CharField(max_length=300, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm = models.JSONField(default=dict, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_text = models.TextField(blank=True)
    # What the visitor sent that was not written to the record: a lead form that linked a known contact
    # never changes the contact, so its answers (and values captured into fields) are kept here,
    # {field: value} ("custom.<key>" for custom fields); shown on the log, in the API and the CSV.
    unapplied = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["form", "-created_at"], name="webform_submission_recent"),
            models.Index(fields=["module", "record_id"], name="webform_submission_record"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.status}"


class VisitorDocument(models.Model):
    """A document made from a visitor's upload. It is not a file the company shares: the customer portal
    never lists it among a contact's documents, whatever it is linked to. Files a submission could not
    put on its record (a lead form that linked a known contact, a record its owner cannot see) are
    linked to nothing and found here, by their submission. Kept when the form and its log are deleted."""

    document_id = models.UUIDField(unique=True)
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitor_documents"
    )
    attached = models.BooleanField(default=True)  # linked to the submission's record
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"visitor document {self.document_id}"


class DailyStat(models.Model):
    """Views and accepted submissions of a form per day and UTM source (one upserted row each)."""

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    source = models.CharField(max_length=100, blank=True, default="")
    views = models.PositiveIntegerField(default=0)
    submissions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint("form", "day", "source", name="webform_stat_unique")]

    def __str__(self) -> str:
        return f"{self.form_id} {self.day} {self.source}"
