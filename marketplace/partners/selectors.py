"""Reads for partners: the portal (always through the user's own membership) and the public directory."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.search import SearchRank, TrigramSimilarity, TrigramWordSimilarity
from django.db.models import F, QuerySet
from django.db.models.functions import Greatest

from marketplace.partners import search
from marketplace.partners.models import (
    ListingPrice,
    Partner,
    PartnerAccess,
    PartnerInvitation,
    PartnerLead,
    PartnerMember,
)
from tenants.models import Tenant, User


def partner_memberships(*, user: User) -> QuerySet[PartnerMember]:
    """The partner teams this user belongs to."""
    return PartnerMember.objects.filter(user=user).select_related("partner").order_by("partner__name")


def access_partner_member(*, user: User, slug: str) -> PartnerMember | None:
    """The user's membership of the partner at `slug`: None alike for a missing partner and a stranger."""
    if not user.is_authenticated or not user.is_active:
        return None
    return PartnerMember.objects.select_related("partner", "user").filter(user=user, partner__slug=slug).first()


def partner_team(*, partner: Partner) -> QuerySet[PartnerMember]:
    return PartnerMember.objects.filter(partner=partner).select_related("user").order_by("created_at", "pk")


def partner_invitations_pending(*, partner: Partner) -> list[PartnerInvitation]:
    return [
        i for i in PartnerInvitation.objects.filter(partner=partner, accepted_at=None, revoked_at=None) if i.is_pending
    ]


def partner_leads(*, partner: Partner) -> QuerySet[PartnerLead]:
    return PartnerLead.objects.filter(partner=partner).order_by("-created_at", "-pk")


def partner_lead_get(*, partner: Partner, lead_id: int) -> PartnerLead | None:
    return PartnerLead.objects.filter(partner=partner, pk=lead_id).first()


def partner_accesses(*, partner: Partner) -> QuerySet[PartnerAccess]:
    """Workspaces that currently grant this partner access."""
    return PartnerAccess.objects.filter(partner=partner, revoked_at__isnull=True).select_related("tenant")


def tenant_partner_accesses(*, tenant: Tenant) -> QuerySet[PartnerAccess]:
    """The live grants of one tenant (tenant settings page)."""
    return PartnerAccess.objects.filter(tenant=tenant, revoked_at__isnull=True).select_related("partner")


def listing_prices() -> QuerySet[ListingPrice]:
    return ListingPrice.objects.filter(is_active=True).order_by("currency", "period")


@dataclass(frozen=True)
class DirectoryFilters:
    q: str = ""
    country: str = ""
    language: str = ""
    service: str = ""
    industry: str = ""
    authorised_only: bool = False


@dataclass(frozen=True)
class DirectoryResult:
    partners: QuerySet[Partner]
    # True when no profile contained the words and partners with similar names are shown instead.
    fuzzy: bool = False


def directory_list(*, filters: DirectoryFilters) -> DirectoryResult:
    """Listed partners matching the filters. With search words: authorised partners first, then by
    full-text rank (name over services / industries / certifications over description), prefix
    matching; if nothing matches, partners whose name is similar to the words (typos). Without
    words: authorised first, then by name. The primary key ends every ordering (stable pages)."""
    qs = Partner.listed().defer("search_vector")
    if filters.country:
        qs = qs.filter(countries__contains=[filters.country])
    if filters.language:
        qs = qs.filter(languages__contains=[filters.language])
    if filters.service:
        qs = qs.filter(services__contains=[filters.service])
    if filters.industry:
        qs = qs.filter(industries__contains=[filters.industry])
    if filters.authorised_only:
        qs = qs.filter(is_authorised=True)
    text = filters.q.strip()
    if not text:
        return DirectoryResult(qs.order_by("-is_authorised", "name", "pk"))
    query = search.directory_query(text)
    if query is None:
        return DirectoryResult(qs.none())
    matches = qs.filter(search_vector=query)
    if len(text) < search.MIN_FUZZY_LENGTH or matches.exists():
        ranked = matches.annotate(rank=SearchRank(F("search_vector"), query))
        return DirectoryResult(ranked.order_by("-is_authorised", "-rank", "name", "pk"))
    # pg_trgm's operators use fixed thresholds (0.3 / 0.6) that miss a swapped letter ("consluting"
    # scores 0.47 against "Consulting"); the directory is small, so the score is computed and cut here.
    similar = qs.annotate(
        similarity=Greatest(TrigramSimilarity("name", text[:100]), TrigramWordSimilarity(text[:100], "name"))
    ).filter(similarity__gte=search.FUZZY_THRESHOLD)
    return DirectoryResult(similar.order_by("-is_authorised", "-similarity", "name", "pk"), fuzzy=True)


def directory_get(*, slug: str) -> Partner | None:
    return Partner.listed().filter(slug=slug).first()
