from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import phone_field, picklist_field, text_field


class Contact(CrmRecord):
    salutation = picklist_field(_("salutation"))
    first_name = text_field(_("first name"), 80)
    last_name = models.CharField(_("last name"), max_length=80)
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    title = text_field(_("title"))
    department = text_field(_("department"))
    email = models.EmailField(_("email"), blank=True)
    secondary_email = models.EmailField(_("secondary email"), blank=True)
    phone = phone_field(_("office phone"))
    mobile = phone_field(_("mobile"))
    home_phone = phone_field(_("home phone"))
    other_phone = phone_field(_("other phone"))
    fax = phone_field(_("fax"))
    assistant = text_field(_("assistant"))
    assistant_phone = phone_field(_("assistant phone"))
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    lead_source = picklist_field(_("lead source"))
    reports_to = models.ForeignKey(
        "self",
        verbose_name=_("reports to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    do_not_call = models.BooleanField(_("do not call"), default=False)
    email_opt_out = models.BooleanField(_("email opt-out"), default=False)
    reference = models.BooleanField(_("reference"), default=False)
    notify_owner = models.BooleanField(_("notify owner"), default=False)
    mailing_street = text_field(_("mailing street"), 250)
    mailing_city = text_field(_("mailing city"))
    mailing_state = text_field(_("mailing state"))
    mailing_postal_code = text_field(_("mailing postal code"), 30)
    mailing_country = text_field(_("mailing country"))
    other_street = text_field(_("other street"), 250)
    other_city = text_field(_("other city"))
    other_state = text_field(_("other state"))
    other_postal_code = text_field(_("other postal code"), 30)
    other_country = text_field(_("other country"))
    description = models.TextField(_("description"), blank=True, max_length=20_000)
    source_lead = models.ForeignKey(
        "leads.Lead",
        verbose_name=_("converted from lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta(CrmRecord.Meta):
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["last_name"], name="contact_last_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["last_name", "first_name", "id"], name="contact_name"),
            models.Index(fields=["organization", "-created_at"], name="contact_org_recent"),
        ]
