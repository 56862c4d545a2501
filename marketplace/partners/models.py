"""Partner data in `public`: the partner organisation, its team and its public profile."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PartnerRole(models.TextChoices):
    OWNER = "owner", pgettext_lazy("partner role", "Owner")
    DEVELOPER = "developer", pgettext_lazy("partner role", "Developer")
    SALES = "sales", pgettext_lazy("partner role", "Sales")


class PartnerService(models.TextChoices):
    IMPLEMENTATION = "implementation", _("Implementation")
    CUSTOMISATION = "customisation", _("Customisation")
    TRAINING = "training", _("Training")
    INTEGRATION = "integration", _("Integration")
    MIGRATION = "migration", _("Data migration")
    SUPPORT = "support", _("Support")


class PartnerIndustry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    RETAIL = "retail", _("Retail and e-commerce")
    FINANCE = "finance", _("Financial services")
    HEALTHCARE = "healthcare", _("Healthcare")
    EDUCATION = "education", _("Education")
    REAL_ESTATE = "real_estate", _("Real estate")
    PROFESSIONAL_SERVICES = "professional_services", _("Professional services")
    TECHNOLOGY = "technology", _("Technology and software")
    NONPROFIT = "nonprofit", _("Non-profit")
    PUBLIC_SECTOR = "public_sector", _("Public sector")
    HOSPITALITY = "hospitality", _("Hospitality and travel")
    LOGISTICS = "logistics", _("Logistics")


class PartnerRegion(models.TextChoices):
    """World regions by their UN M49 codes."""

    AFRICA = "002", _("Africa")
    NORTHERN_AMERICA = "021", _("Northern America")
    LATIN_AMERICA = "419", _("Latin America and the Caribbean")
    ASIA = "142", _("Asia")
    MIDDLE_EAST = "145", _("Western Asia and the Middle East")
    EUROPE = "150", _("Europe")
    OCEANIA = "009", _("Oceania")


class ListingState(models.TextChoices):
    NONE = "none", pgettext_lazy("listing state", "Not subscribed")
    PENDING = "pending", pgettext_lazy("listing state", "Checkout started")
    ACTIVE = "active", pgettext_lazy("listing state", "Active")
    PAST_DUE = "past_due", pgettext_lazy("listing state", "Payment overdue")
    CANCELED = "canceled", pgettext_lazy("listing state", "Canceled")


def partner_logo_path(instance: Partner, filename: str) -> str:
    """Logos live under partners/<id>/ with a generated name; the uploaded name is never used."""
    return f"partners/{instance.pk or 'new'}/{filename}"


class Partner(models.Model):
    """An organisation that sells services and extensions; its profile is public in the directory."""

    slug = models.SlugField(_("address name"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    logo = models.ImageField(_("logo"), upload_to=partner_logo_path, blank=True, max_length=255)
    website = models.URLField(_("website"), blank=True, max_length=300)
    description = models.TextField(_("description"), blank=True, max_length=5000)
    # ISO 3166-1 alpha-2 codes (django-countries' list).
    countries = ArrayField(models.CharField(max_length=2), verbose_name=_("countries served"), default=list, blank=True)
    # UN M49 region codes (PartnerRegion).
    regions = ArrayField(models.CharField(max_length=3), verbose_name=_("regions served"), default=list, blank=True)
    # Language codes from Django's LANGUAGES list (ISO 639-1 with Django's variants).
    languages = ArrayField(models.CharField(max_length=10), verbose_name=_("languages"), default=list, blank=True)
    services = ArrayField(models.CharField(max_length=30), verbose_name=_("services"), default=list, blank=True)
    industries = ArrayField(models.CharField(max_length=30), verbose_name=_("industries"), default=list, blank=True)
    certifications = ArrayField(
        models.CharField(max_length=100), verbose_name=_("certifications"), default=list, blank=True
    )
    # Shown in the directory; operators may hide a partner (is_active=False) without deleting it.
    is_active = models.BooleanField(_("active"), default=True)
    # An operator's approval for the public directory (issue 26): new partners are listed only once an
    # operator approved them and their profile is complete (Partner.listed()).
    approved_at = models.DateTimeField(_("approved for the directory at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # Authorised listing: the badge and first place in the directory while the listing is paid.
    is_authorised = models.BooleanField(_("authorised"), default=False, db_index=True)
    authorised_since = models.DateTimeField(_("authorised since"), null=True, blank=True)
    listing_state = models.CharField(
        _("listing subscription"), max_length=16, choices=ListingState.choices, default=ListingState.NONE
    )
    listing_period = models.CharField(_("listing period"), max_length=8, blank=True)
    listing_period_end = models.DateTimeField(_("listing paid until"), null=True, blank=True)
    listing_stripe_customer_id = models.CharField(_("Stripe customer (listing)"), max_length=255, blank=True)
    listing_stripe_subscription_id = models.CharField(_("Stripe subscription (listing)"), max_length=255, blank=True)
    # Stripe time of the state applied last: an older event is refused (as billing does).
    listing_stripe_updated = models.DateTimeField(null=True, blank=True, editable=False)
    # An operator's manual revocation: the badge stays off until an operator restores it.
    badge_revoked_at = models.DateTimeField(_("badge revoked at"), null=True, blank=True)
    badge_revoked_reason = models.TextField(_("badge revocation reason"), blank=True)
    badge_revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("badge revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # Stripe Connect (Express) account that receives the partner's extension sales.
    stripe_account_id = models.CharField(_("Stripe Connect account"), max_length=255, blank=True)
    stripe_details_submitted = models.BooleanField(_("Stripe details submitted"), default=False)
    stripe_charges_enabled = models.BooleanField(_("Stripe charges enabled"), default=False)
    stripe_payouts_enabled = models.BooleanField(_("Stripe payouts enabled"), default=False)
    # What Stripe still needs before it enables or keeps charges and payouts (requirements.currently_due).
    stripe_requirements_due = ArrayField(
        models.CharField(max_length=200), verbose_name=_("Stripe requirements due"), default=list, blank=True
    )
    stripe_disabled_reason = models.CharField(_("Stripe disabled reason"), max_length=200, blank=True)
    # Stripe time of the account state applied last (account.updated events and refreshes).
    stripe_account_updated = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Weighted full-text document of the directory search (marketplace.partners.search), written by save().
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]
        indexes = [
            GinIndex(fields=["countries"], name="partner_countries_gin"),
            GinIndex(fields=["languages"], name="partner_languages_gin"),
            GinIndex(fields=["services"], name="partner_services_gin"),
            GinIndex(fields=["industries"], name="partner_industries_gin"),
            GinIndex(fields=["search_vector"], name="partner_search_gin"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The document is derived data: every save that touches a searched field rewrites it in the
        # same statement (admin, services, seeds and the Stripe handlers all save through here).
        from marketplace.partners.search import SEARCHED_FIELDS, partner_search_vector

        update_fields = kwargs.get("update_fields")
        if update_fields is None or SEARCHED_FIELDS.intersection(update_fields):
            self.search_vector = partner_search_vector(self)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "search_vector"}
        super().save(*args, **kwargs)

    @staticmethod
    def listed_q() -> Q:
        """Partners the public directory shows: active, approved by an operator, with a complete profile
        (a description, at least one country and at least one service; the name is always required)."""
        return Q(is_active=True, approved_at__isnull=False) & ~Q(description="") & ~Q(countries=[]) & ~Q(services=[])

    @classmethod
    def listed(cls) -> QuerySet[Partner]:
        return cls.objects.filter(cls.listed_q())

    def profile_missing(self) -> list[str]:
        """What the profile still lacks before the directory may show it (translated labels)."""
        missing = []
        if not self.name.strip():
            missing.append(str(_("a name")))
        if not self.description.strip():
            missing.append(str(_("a description")))
        if not self.countries:
            missing.append(str(_("at least one country")))
        if not self.services:
            missing.append(str(_("at least one service")))
        return missing

    @property
    def is_listed(self) -> bool:
        return self.is_active and self.approved_at is not None and not self.profile_missing()


class PartnerMember(models.Model):
    """A global user in a partner's team, with one partner role (permissions: marketplace.partners.permissions)."""

    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="partner_memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=PartnerRole.choices, default=PartnerRole.SALES)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("partner member")
        verbose_name_plural = _("partner members")
        ordering = ["partner", "created_at"]
        constraints = [models.UniqueConstraint(fields=["partner", "user"], name="partner_member_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.partner_id} ({self.role})"


class PartnerInvitation(models.Model):
    """An emailed, expiring invitation to join a partner's team with a role."""

    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email address"), max_length=254)
    role = models.CharField(_("role"), max_length=16, choices=PartnerRole.choices)
    key_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("invited by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("partner invitation")
        verbose_name_plural = _("partner invitations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="partner_invitation_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} -> {self.partner_id}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class PartnerLead(models.Model):
    """A message a visitor sent from the partner's directory page."""

    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="leads")
    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("email address"), max_length=254)
    company = models.CharField(_("company"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    message = models.TextField(_("message"), max_length=3000)
    created_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("partner lead")
        verbose_name_plural = _("partner leads")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} -> {self.partner_id}"


class ListingPeriod(models.TextChoices):
    MONTH = "month", _("monthly")
    YEAR = "year", _("yearly")


class ListingPrice(models.Model):
    """What an authorised listing costs, per period and currency. Operators set it in the console."""

    period = models.CharField(_("period"), max_length=8, choices=ListingPeriod.choices)
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217 code, lower case, e.g. usd."))
    amount = models.PositiveIntegerField(_("amount (minor units)"), help_text=_("In cents: 4900 means 49.00."))
    is_active = models.BooleanField(_("offered"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("authorised listing price")
        verbose_name_plural = _("authorised listing prices")
        ordering = ["currency", "period"]
        constraints = [models.UniqueConstraint(fields=["period", "currency"], name="listing_price_once")]

    def __str__(self) -> str:
        return f"{self.amount / 100:.2f} {self.currency.upper()} / {self.period}"


class PartnerAccess(models.Model):
    """A tenant's grant of access to a partner: the partner's team are members there with `role_id`.

    Lives in `public` (like WorkspaceMembership) so the partner portal can list the grants; the role
    is a tenant-side access.Role, referenced by id and name only.
    """

    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="accesses")
    tenant = models.ForeignKey(
        "tenants.Tenant", verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="partner_accesses"
    )
    role_id = models.BigIntegerField(_("role id"))
    role_name = models.CharField(_("role"), max_length=100)
    granted_by = models.CharField(_("granted by"), max_length=254)
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.CharField(_("revoked by"), max_length=254, blank=True)

    class Meta:
        verbose_name = _("partner access")
        verbose_name_plural = _("partner accesses")
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "tenant"],
                condition=models.Q(revoked_at__isnull=True),
                name="partner_access_one_live",
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} @ {self.tenant_id}"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("payout", "Pending")
    IN_TRANSIT = "in_transit", pgettext_lazy("payout", "In transit")
    PAID = "paid", pgettext_lazy("payout", "Paid")
    FAILED = "failed", pgettext_lazy("payout", "Failed")
    CANCELED = "canceled", pgettext_lazy("payout", "Canceled")


# A payout only moves forward: pending -> in transit -> paid, and a paid one may still fail (the bank
# returns it); an event describing an earlier step never moves it back.
PAYOUT_STATUS_RANK = {
    PayoutStatus.PENDING: 0,
    PayoutStatus.IN_TRANSIT: 1,
    PayoutStatus.PAID: 2,
    PayoutStatus.FAILED: 3,
    PayoutStatus.CANCELED: 3,
}


class Payout(models.Model):
    """A Stripe payout from the partner's connected account to its bank, as Stripe last reported it."""

    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="payouts")
    stripe_payout_id = models.CharField(_("Stripe payout"), max_length=255, unique=True)
    amount_cents = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=12, choices=PayoutStatus.choices)
    arrival_date = models.DateTimeField(_("arrival date"), null=True, blank=True)
    failure_code = models.CharField(_("failure code"), max_length=100, blank=True)
    failure_message = models.TextField(_("failure message"), blank=True)
    created = models.DateTimeField(_("created at"), null=True, blank=True)
    stripe_updated = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("partner payout")
        verbose_name_plural = _("partner payouts")
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return self.stripe_payout_id
