"""The extensions shipped in this repository (marketplace/extensions/<slug>/manifest.json), published
by the platform's own demo partner. They are reviewed like code, in the repository, so their versions
are recorded as approved with that note."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from marketplace.catalog.models import Listing, ReviewState, Version
from marketplace.catalog.services import listing_save, version_submit
from marketplace.partners.models import Partner, PartnerMember, PartnerRole
from tenants.models import User

EXTENSIONS_DIR = Path(__file__).resolve().parents[1] / "extensions"
PARTNER_SLUG = "crm-labs"
PARTNER_EMAIL = "partner@example.com"
PARTNER_PASSWORD = "demo-crm-2026"


# Summaries and descriptions are marked for translation: the catalog shows them in the reader's language
# (`Listing.display_summary`, `Listing.display_description_html`); partners' own texts are shown as written.
@dataclass(frozen=True)
class FirstParty:
    slug: str
    summary: str
    description: str
    category: str
    pricing: str = "free"
    price_cents: int = 0
    trial_days: int = 0


CATALOG = (
    FirstParty(
        "saas-sales-kit",
        N_("ARR, seats, plan tier and renewal fields, a SaaS subscription pipeline and a renewals view."),
        N_(
            "For teams that sell subscriptions:\n\n- **Deals**: annual recurring revenue, seats, plan tier, "
            "renewal date\n- **Organisations**: churn risk\n- a *SaaS subscriptions* pipeline from trial to "
            "subscribed\n- lead sources *Product trial* and *Webinar*\n- a shared *Renewals by date* view"
        ),
        "sales",
    ),
    FirstParty(
        "support-escalation-webhooks",
        N_("Sends contact and organisation changes to your help desk, signed, and lets it update contacts."),
        N_(
            "Connects your help desk:\n\n- signed webhooks for new and changed contacts and for changed or "
            "deleted organisations\n- an API token that may read and write contacts and read organisations\n"
            "- escalation level and help desk ticket fields on contacts"
        ),
        "support",
    ),
    FirstParty(
        "localised-field-pack",
        N_("Language, region and consent fields for leads, extra industries, two lead views, in Russian too."),
        N_(
            "Fields and views for international lead handling, with Russian labels:\n\n- preferred language, "
            "sales region and marketing consent on leads\n- industries *Logistics* and *Public sector*\n"
            "- shared views *Hot leads by region* and *Leads with marketing consent*"
        ),
        "localisation",
    ),
    FirstParty(
        "equipment-register",
        N_("A Machines module: serial numbers, condition, service dates, supplier and customer site."),
        N_(
            "Keep track of the machines you sell, rent or service:\n\n- a **Machines** module (custom module, "
            "numbered MCH1, MCH2, ...) under Inventory\n- serial number, condition, next service date, supplier "
            "and the organisation it is installed at\n- a shared *Machines needing repair* view"
        ),
        "productivity",
    ),
    FirstParty(
        "document-pack",
        N_("Classic quote and invoice PDFs in English and Russian, with matching email templates."),
        N_(
            "A document generator (manifest schema 2):\n\n- **PDF templates** for quotes and invoices in "
            "English and Russian\n- email templates to send them\n- a shared *Quotes by status* report"
        ),
        "sales",
    ),
    FirstParty(
        "maps-panel",
        N_("A map of each organisation on its page, and a workflow action that geocodes organisations."),
        N_(
            "An app (manifest schema 2) hosted by CRM Labs, shown in a sandboxed frame:\n\n- a **Map** panel "
            "on organisation pages (billing city)\n- the workflow action *Geocode the organisation*\n"
            "- reads organisations and saves the values of its address fields (`organizations:write`)"
        ),
        "integration",
    ),
    FirstParty(
        "pbx-connector",
        N_("Call contacts from their page through your PBX; calls are logged through the telephony webhook."),
        N_(
            "An app (manifest schema 2) bridging your PBX:\n\n- a **Call** panel on contact pages that dials "
            "the contact from your extension\n- the call is reported to the CRM through the signed telephony "
            "webhook and shows on the contact\n- reads contacts only (`contacts:read`)"
        ),
        "integration",
    ),
)


def manifest_data(slug: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXTENSIONS_DIR / slug / "manifest.json").read_text(encoding="utf-8"))
    return loaded


@transaction.atomic
def first_party_publish() -> list[Listing]:
    """Create (once) the demo partner and its listings, and record each shipped manifest version as approved."""
    partner, _created = Partner.objects.get_or_create(
        slug=PARTNER_SLUG,
        defaults={
            "name": "CRM Labs",
            "website": "https://example.com/crm-labs",
            "description": "The platform team's own extensions.",
            "languages": ["en", "ru"],
            "services": ["customisation", "integration"],
        },
    )
    user = User.objects.filter(email=PARTNER_EMAIL).first() or User.objects.create_user(
        PARTNER_EMAIL, PARTNER_PASSWORD, name="Casey Partner"
    )
    PartnerMember.objects.get_or_create(partner=partner, user=user, defaults={"role": PartnerRole.OWNER})
    listings = []
    for item in CATALOG:
        data = manifest_data(item.slug)
        listing = Listing.objects.filter(slug=item.slug).first()
        if listing is None:
            listing = listing_save(
                partner=partner,
                slug=item.slug,
                name=data["name"],
                summary=item.summary,
                description=item.description,
                category=item.category,
                support_url="https://example.com/crm-labs/support",
                pricing=item.pricing,
                price_cents=item.price_cents,
                trial_days=item.trial_days,
            )
        if not Version.objects.filter(listing=listing, number=data["version"]).exists():
            version = version_submit(listing=listing, manifest=data, submitted_by=user)
            Version.objects.filter(pk=version.pk).update(
                state=ReviewState.APPROVED,
                review_notes="First-party extension: reviewed in the repository.",
                reviewed_at=timezone.now(),
            )
        listings.append(listing)
    return listings
