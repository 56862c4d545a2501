"""Calls (vtiger's PBX Manager): one row per provider call, the phone-number index, telephony settings."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord, RecordLink
from crm_apps.modules.common import phone_field


class Call(CrmRecord):
    # Every call has a direction and a status (the telephony webhook always sets both): required picklists.
    direction = models.CharField(_("direction"), max_length=100)
    status = models.CharField(_("call status"), max_length=100)
    from_number = phone_field(_("from"))
    to_number = phone_field(_("to"))
    # The other party's number in E.164 (the caller of an inbound call, the callee of an outbound one).
    customer_number = models.CharField(_("customer number"), max_length=40, blank=True, db_index=True)
    started_at = models.DateTimeField(_("start time"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    duration = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    recording_url = models.URLField(_("recording URL"), max_length=500, blank=True)
    member = models.ForeignKey(
        "access.Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("member"),
    )
    notes = models.TextField(_("notes"), blank=True)
    # The provider's id of the call: later events of the same call update this row.
    provider_call_id = models.CharField(_("provider call id"), max_length=200, null=True, blank=True)
    # Which provider reported it: "" = the workspace's own webhook, else a contributed provider's key
    # (providers.py). Ids are unique per provider, so one provider can never update another's calls.
    provider = models.CharField(_("provider"), max_length=100, blank=True, default="", editable=False)
    # The timestamp of the latest provider event applied (orders late and repeated deliveries).
    last_event_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(CrmRecord.Meta):
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["from_number"], name="call_from_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["member", "status", "-started_at"], name="call_member_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_call_id"],
                condition=models.Q(provider_call_id__isnull=False),
                name="call_provider_call_id_unique",
            )
        ]

    def __str__(self) -> str:
        number = self.customer_number or self.from_number or self.to_number
        return f"{self.direction} {number}".strip() or str(self.number)


class CallMatch(RecordLink):
    """A record (contact, lead, organisation) whose phone number is the call's customer number;
    several rows when the number is ambiguous."""

    link_on_merge = RecordLink.MOVE
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="matches")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["module", "record_id", "call"], name="call_match_unique"),
        ]

    def __str__(self) -> str:
        return f"call {self.call_id} -> {self.module}:{self.record_id}"


class PhoneIndex(RecordLink):
    """The E.164 form of each phone field of the records calls are matched against, maintained from the
    engine's record events (crm_apps.modules.calls.phone_index); a record in the recycle bin keeps its
    rows (matching skips it), a purged record loses them with its other links."""

    link_on_merge = RecordLink.KEEP
    field = models.CharField(max_length=60)
    number = models.CharField(max_length=40)

    class Meta:
        indexes = [
            models.Index(fields=["module", "record_id"], name="phone_index_record"),
            models.Index(fields=["number"], name="phone_index_number"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.module}:{self.record_id}"


class TelephonySettings(models.Model):
    """The tenant's telephony settings (one row)."""

    default_region = models.CharField(_("default region"), max_length=2, default="US")
    click_to_call_template = models.CharField(_("click-to-call URL"), max_length=300, default="tel:{number}")
    # HMAC-SHA256 key of the webhook; empty until an administrator creates one.
    webhook_secret = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("telephony settings")

    def __str__(self) -> str:
        return "telephony settings"


class TelephonyMember(models.Model):
    """A member's telephony settings: the PBX extension that rings for them."""

    member = models.OneToOneField("access.Member", on_delete=models.CASCADE, related_name="+")
    extension = models.CharField(_("extension"), max_length=40, unique=True)

    def __str__(self) -> str:
        return self.extension
