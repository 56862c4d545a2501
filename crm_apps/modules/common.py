"""Field helpers and vtiger's default picklist values shared by the modules.

Built-in values are marked with `gettext_noop` (`N_`): they stay plain English strings (the stable
stored values) and their translations live in the .po; provisioning labels them in every language
(saas/value_labels.py)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop as N_
from django_stubs_ext import StrOrPromise

phone_validator = RegexValidator(r"^\+?[0-9 ()./-]{3,40}$", _("Enter a valid phone number."))


def phone_field(label: StrOrPromise) -> models.CharField:
    return models.CharField(label, max_length=40, blank=True, validators=[phone_validator])


def text_field(label: StrOrPromise, max_length: int = 100, *, blank: bool = True) -> models.CharField:
    return models.CharField(label, max_length=max_length, blank=blank)


def money_field(label: StrOrPromise) -> models.DecimalField:
    return models.DecimalField(label, max_digits=16, decimal_places=2, null=True, blank=True)


def picklist_field(label: StrOrPromise) -> models.CharField:
    return models.CharField(label, max_length=100, blank=True)


INDUSTRY = [
    N_("Apparel"),
    N_("Banking"),
    N_("Biotechnology"),
    N_("Chemicals"),
    N_("Communications"),
    N_("Construction"),
    N_("Consulting"),
    N_("Education"),
    N_("Electronics"),
    N_("Energy"),
    N_("Engineering"),
    N_("Entertainment"),
    N_("Environmental"),
    N_("Finance"),
    N_("Food & Beverage"),
    N_("Government"),
    N_("Healthcare"),
    N_("Hospitality"),
    N_("Insurance"),
    N_("Machinery"),
    N_("Manufacturing"),
    N_("Media"),
    N_("Not For Profit"),
    N_("Recreation"),
    N_("Retail"),
    N_("Shipping"),
    N_("Technology"),
    N_("Telecommunications"),
    N_("Transportation"),
    N_("Utilities"),
    N_("Other"),
]
RATING = [N_("Acquired"), N_("Active"), N_("Market Failed"), N_("Project Cancelled"), N_("Shutdown")]
SALUTATION = [N_("Mr."), N_("Ms."), N_("Mrs."), N_("Dr."), N_("Prof.")]
LEAD_SOURCE = [
    N_("Cold Call"),
    N_("Existing Customer"),
    N_("Self Generated"),
    N_("Employee"),
    N_("Partner"),
    N_("Public Relations"),
    N_("Direct Mail"),
    N_("Conference"),
    N_("Trade Show"),
    N_("Web Site"),
    N_("Word of mouth"),
    N_("Other"),
]
LEAD_STATUS = [
    N_("Attempted to Contact"),
    N_("Cold"),
    N_("Contact in Future"),
    N_("Contacted"),
    N_("Hot"),
    N_("Junk Lead"),
    N_("Lost Lead"),
    N_("Not Contacted"),
    N_("Pre Qualified"),
    N_("Qualified"),
    N_("Warm"),
]
ACCOUNT_TYPE = [
    N_("Analyst"),
    N_("Competitor"),
    N_("Customer"),
    N_("Integrator"),
    N_("Investor"),
    N_("Partner"),
    N_("Press"),
    N_("Prospect"),
    N_("Reseller"),
    N_("Other"),
]
DEAL_TYPE = [N_("Existing Business"), N_("New Business")]
SALES_STAGES = [
    (N_("Prospecting"), 10, False, False),
    (N_("Qualification"), 20, False, False),
    (N_("Needs Analysis"), 25, False, False),
    (N_("Value Proposition"), 30, False, False),
    (N_("Id. Decision Makers"), 40, False, False),
    (N_("Perception Analysis"), 50, False, False),
    (N_("Proposal or Price Quote"), 65, False, False),
    (N_("Negotiation or Review"), 80, False, False),
    (N_("Closed Won"), 100, True, False),
    (N_("Closed Lost"), 0, False, True),
]
CAMPAIGN_TYPE = [
    N_("Conference"),
    N_("Webinar"),
    N_("Trade Show"),
    N_("Public Relations"),
    N_("Partners"),
    N_("Referral Program"),
    N_("Advertisement"),
    N_("Banner Ads"),
    N_("Direct Mail"),
    N_("Email"),
    N_("Telemarketing"),
    N_("Others"),
]
CAMPAIGN_STATUS = [N_("Planning"), N_("Active"), N_("Inactive"), N_("Completed"), N_("Cancelled")]
EXPECTED_RESPONSE = [N_("Excellent"), N_("Good"), N_("Average"), N_("Poor")]
CAMPAIGN_MEMBER_STATUS = [
    N_("Planned"),
    N_("Contacted - Successful"),
    N_("Contacted - Unsuccessful"),
    N_("Contacted - Never Contact Again"),
]
VENDOR_CATEGORY = [N_("Manufacturer"), N_("Distributor"), N_("Service Provider"), N_("Other")]

SALES_PIPELINE = N_("Sales")
