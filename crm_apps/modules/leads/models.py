from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import money_field, phone_field, picklist_field, text_field


class Lead(CrmRecord):
    salutation = picklist_field(_("salutation"))
    first_name = text_field(_("first name"), 80)
    last_name = models.CharField(_("last name"), max_length=80)
    company = models.CharField(_("company"), max_length=200)
    designation = text_field(_("designation"))
    email = models.EmailField(_("email"), blank=True)
    secondary_email = models.EmailField(_("secondary email"), blank=True)
    phone = phone_field(_("phone"))
    mobile = phone_field(_("mobile"))
    fax = phone_field(_("fax"))
    website = models.URLField(_("website"), max_length=300, blank=True)
    source = picklist_field(_("lead source"))
    status = picklist_field(_("lead status"))
    industry = picklist_field(_("industry"))
    rating = picklist_field(_("rating"))
    annual_revenue = money_field(_("annual revenue"))
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    email_opt_out = models.BooleanField(_("email opt-out"), default=False)
    street = text_field(_("street"), 250)
    city = text_field(_("city"))
    state = text_field(_("state"))
    postal_code = text_field(_("postal code"), 30)
    country = text_field(_("country"))
    description = models.TextField(_("description"), blank=True, max_length=20_000)
    converted = models.BooleanField(_("converted"), default=False)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    converted_organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("converted to organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("converted to contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_deal = models.ForeignKey(
        "deals.Deal",
        verbose_name=_("converted to deal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta(CrmRecord.Meta):
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["last_name"], name="lead_last_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["last_name", "first_name", "id"], name="lead_name"),
            models.Index(fields=["status", "-created_at"], name="lead_status_recent"),
        ]


class ConversionMapping(models.Model):
    """Which lead field fills which field of the organisation, contact or deal made at conversion."""

    class Target(models.TextChoices):
        ORGANIZATION = "organizations", _("Organisation")
        CONTACT = "contacts", _("Contact")
        DEAL = "deals", _("Deal")

    lead_field = models.CharField(_("lead field"), max_length=60)
    target = models.CharField(_("target module"), max_length=20, choices=Target.choices)
    target_field = models.CharField(_("target field"), max_length=60)

    class Meta:
        ordering = ["target", "target_field"]
        constraints = [models.UniqueConstraint("target", "target_field", name="conversion_target_unique")]

    def __str__(self) -> str:
        return f"{self.lead_field} -> {self.target}.{self.target_field}"
