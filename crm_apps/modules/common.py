"""Field helpers and vtiger's default picklist values shared by the modules."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
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
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
]
RATING = ["Acquired", "Active", "Market Failed", "Project Cancelled", "Shutdown"]
SALUTATION = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]
LEAD_SOURCE = [
    "Cold Call",
    "Existing Customer",
    "Self Generated",
    "Employee",
    "Partner",
    "Public Relations",
    "Direct Mail",
    "Conference",
    "Trade Show",
    "Web Site",
    "Word of mouth",
    "Other",
]
LEAD_STATUS = [
    "Attempted to Contact",
    "Cold",
    "Contact in Future",
    "Contacted",
    "Hot",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre Qualified",
    "Qualified",
    "Warm",
]
ACCOUNT_TYPE = [
    "Analyst",
    "Competitor",
    "Customer",
    "Integrator",
    "Investor",
    "Partner",
    "Press",
    "Prospect",
    "Reseller",
    "Other",
]
DEAL_TYPE = ["Existing Business", "New Business"]
SALES_STAGES = [
    ("Prospecting", 10, False, False),
    ("Qualification", 20, False, False),
    ("Needs Analysis", 25, False, False),
    ("Value Proposition", 30, False, False),
    ("Id. Decision Makers", 40, False, False),
    ("Perception Analysis", 50, False, False),
    ("Proposal or Price Quote", 65, False, False),
    ("Negotiation or Review", 80, False, False),
    ("Closed Won", 100, True, False),
    ("Closed Lost", 0, False, True),
]
CAMPAIGN_TYPE = [
    "Conference",
    "Webinar",
    "Trade Show",
    "Public Relations",
    "Partners",
    "Referral Program",
    "Advertisement",
    "Banner Ads",
    "Direct Mail",
    "Email",
    "Telemarketing",
    "Others",
]
CAMPAIGN_STATUS = ["Planning", "Active", "Inactive", "Completed", "Cancelled"]
EXPECTED_RESPONSE = ["Excellent", "Good", "Average", "Poor"]
CAMPAIGN_MEMBER_STATUS = [
    "Planned",
    "Contacted - Successful",
    "Contacted - Unsuccessful",
    "Contacted - Never Contact Again",
]
VENDOR_CATEGORY = ["Manufacturer", "Distributor", "Service Provider", "Other"]
