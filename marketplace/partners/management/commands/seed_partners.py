"""Demo partners for the directory (idempotent): profiles and owners, no paid listing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from marketplace.partners.models import Partner, PartnerMember, PartnerRole
from tenants.models import User

DEMO_PASSWORD = "demo-partner-2026"
PARTNERS: list[dict[str, Any]] = [
    {
        "slug": "nordic-crm-partners",
        "name": "Nordic CRM Partners",
        "owner": ("Astrid Lund", "astrid@nordic-crm.example"),
        "website": "https://nordic-crm.example",
        "description": "Implementation and training for wholesalers and logistics firms in the Nordics.",
        "countries": ["SE", "NO", "DK", "FI"],
        "regions": ["150"],
        "languages": ["sv", "nb", "da", "en"],
        "services": ["implementation", "training", "migration"],
        "industries": ["logistics", "retail"],
        "certifications": ["Certified CRM consultant"],
    },
    {
        "slug": "integra-works",
        "name": "Integra Works",
        "owner": ("Marco Bellini", "marco@integra.example"),
        "website": "https://integra.example",
        "description": "Integrations with ERP, e-commerce and telephony; custom API work.",
        "countries": ["IT", "DE", "AT", "CH"],
        "regions": ["150"],
        "languages": ["it", "de", "en"],
        "services": ["integration", "customisation"],
        "industries": ["manufacturing", "technology"],
        "certifications": [],
    },
    {
        "slug": "pacific-sales-ops",
        "name": "Pacific Sales Ops",
        "owner": ("Hana Sato", "hana@pacific-ops.example"),
        "website": "https://pacific-ops.example",
        "description": "Sales process design, customisation and support for growing teams.",
        "countries": ["AU", "NZ", "JP", "SG"],
        "regions": ["009", "142"],
        "languages": ["en", "ja"],
        "services": ["customisation", "support", "training"],
        "industries": ["professional_services", "real_estate"],
        "certifications": [],
    },
]


class Command(BaseCommand):
    help = "Create (once) a few demo partners with owners (password demo-partner-2026) for the directory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        created = 0
        for spec in PARTNERS:
            # Demo partners are approved for the directory (their profiles are complete).
            fields = {**{k: v for k, v in spec.items() if k not in ("slug", "owner")}, "approved_at": timezone.now()}
            partner, is_new = Partner.objects.get_or_create(slug=spec["slug"], defaults=fields)
            name, email = spec["owner"]
            user = User.objects.filter(email=email).first() or User.objects.create_user(email, DEMO_PASSWORD, name=name)
            PartnerMember.objects.get_or_create(partner=partner, user=user, defaults={"role": PartnerRole.OWNER})
            created += int(is_new)
        if not options["quiet"]:
            self.stdout.write(f"Demo partners: {created} created, {len(PARTNERS) - created} already there.")
