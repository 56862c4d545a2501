"""Realistic sample records for the demo tenant (`manage.py seed_demo`), created through the services."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from typing import Any

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.services import comment_add, record_create

COMPANIES = [
    ("Globex Corporation", "Technology", "Springfield", "US"),
    ("Initech", "Technology", "Austin", "US"),
    ("Umbrella Health", "Healthcare", "Raccoon City", "US"),
    ("Stark Logistics", "Transportation", "Hamburg", "DE"),
    ("Wayne Foods", "Food & Beverage", "Lyon", "FR"),
    ("Acme Construction", "Construction", "Leeds", "GB"),
    ("Tyrell Energy", "Energy", "Oslo", "NO"),
    ("Soylent Retail", "Retail", "Milan", "IT"),
    ("Nakatomi Trading", "Finance", "Osaka", "JP"),
    ("Cyberdyne Systems", "Electronics", "Tallinn", "EE"),
    ("Hooli Media", "Media", "Dublin", "IE"),
    ("Vandelay Industries", "Manufacturing", "Porto", "PT"),
    ("Oceanic Airlines", "Transportation", "Sydney", "AU"),
    ("Gringotts Finance", "Banking", "Zurich", "CH"),
    ("Aperture Labs", "Biotechnology", "Kraków", "PL"),
    ("Sirius Telecom", "Telecommunications", "Helsinki", "FI"),
]
PEOPLE = [
    ("Anna", "Kowalska"),
    ("James", "O'Connor"),
    ("Mei", "Tanaka"),
    ("Lukas", "Schneider"),
    ("Sofia", "Rossi"),
    ("Omar", "Haddad"),
    ("Elena", "Petrova"),
    ("Pedro", "Alves"),
    ("Ingrid", "Larsen"),
    ("Kwame", "Mensah"),
    ("Chloé", "Dubois"),
    ("Raj", "Patel"),
    ("Hannah", "Schmidt"),
    ("Mateo", "García"),
    ("Aiko", "Sato"),
    ("Olga", "Ivanova"),
    ("Liam", "Murphy"),
    ("Fatima", "Zahra"),
    ("Noah", "Johansson"),
    ("Zeynep", "Kaya"),
]
TITLES = ["CEO", "Head of Procurement", "CTO", "Operations Manager", "Sales Director", "Office Manager"]
LEAD_STATUSES = ["Not Contacted", "Attempted to Contact", "Contacted", "Warm", "Hot", "Cold", "Pre Qualified"]
SOURCES = ["Web Site", "Trade Show", "Cold Call", "Partner", "Word of mouth", "Conference"]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _email(first: str, last: str, company: str) -> str:
    domain = "".join(c for c in _ascii(company.split()[0]) if c.isalnum()) + ".example"
    local = "".join(c for c in _ascii(f"{first}.{last}") if c.isalnum() or c == ".")
    return f"{local}@{domain}"


def sample_data_create(*, admin: Member, members: list[Member], seed: int = 7) -> dict[str, int]:
    """A small but lived-in CRM: organisations, their contacts, leads, deals across stages, campaigns, vendors."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not security
    owners = [admin, *members]
    today = dt.date.today()
    created: dict[str, int] = {}

    def make(module: str, data: dict[str, Any], custom: dict[str, Any] | None = None) -> Any:
        created[module] = created.get(module, 0) + 1
        return record_create(spec=registry.get(module), actor=rng.choice(owners), data=data, custom=custom)

    organizations = []
    for name, industry, city, country in COMPANIES:
        organizations.append(
            make(
                "organizations",
                {
                    "name": name,
                    "industry": industry,
                    "billing_city": city,
                    "billing_country": country,
                    "website": f"https://{name.split()[0].lower()}.example",
                    "type": rng.choice(["Customer", "Prospect", "Partner"]),
                    "phone": f"+{rng.randint(1, 49)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    "employees": rng.choice([12, 45, 120, 800, 2500]),
                },
            )
        )
    contacts = []
    for index, (first, last) in enumerate(PEOPLE):
        org = organizations[index % len(organizations)]
        contacts.append(
            make(
                "contacts",
                {
                    "first_name": first,
                    "last_name": last,
                    "organization": org,
                    "title": rng.choice(TITLES),
                    "email": _email(first, last, org.name),
                    "phone": f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
                    "mailing_city": org.billing_city,
                    "lead_source": rng.choice(SOURCES),
                },
            )
        )
    for index in range(12):
        first, last = PEOPLE[(index * 7) % len(PEOPLE)]
        prefix = rng.choice(["Blue", "North", "Bright", "Silver", "Green"])
        company = f"{prefix} {rng.choice(['Harbor', 'Peak', 'Works', 'Labs', 'Foods'])}"
        make(
            "leads",
            {
                "first_name": first,
                "last_name": f"{last}-{index}",
                "company": company,
                "email": _email(first, f"{last}{index}", company),
                "status": rng.choice(LEAD_STATUSES),
                "source": rng.choice(SOURCES),
                "city": rng.choice(["Berlin", "Madrid", "Boston", "Riga", "Lisbon"]),
            },
        )
    from crm_apps.modules.deals.services import default_pipeline

    stages = list(default_pipeline().stages.order_by("position"))
    for index in range(16):
        org = organizations[index % len(organizations)]
        stage = stages[index % len(stages)]
        deal = make(
            "deals",
            {
                "name": f"{org.name} – {rng.choice(['annual licence', 'pilot', 'expansion', 'renewal', 'onboarding'])}",
                "organization": org,
                "contact": contacts[index % len(contacts)],
                "amount": str(rng.choice([4800, 12000, 25000, 60000, 150000])),
                "currency": "EUR",
                "close_date": (today + dt.timedelta(days=rng.randint(-30, 120))).isoformat(),
                "stage": stage,
                "probability": stage.probability,
                "lead_source": rng.choice(SOURCES),
            },
        )
        if index % 5 == 0:
            comment_add(
                spec=registry.get("deals"),
                actor=admin,
                record=deal,
                body="Sent the proposal; they will come back after their board meeting.",
            )
    for name, kind in [
        ("Spring webinar series", "Webinar"),
        ("Trade fair Hannover", "Trade Show"),
        ("Newsletter Q3", "Email"),
    ]:
        make(
            "campaigns",
            {
                "name": name,
                "type": kind,
                "status": "Active",
                "expected_close_date": (today + dt.timedelta(days=60)).isoformat(),
                "budget_cost": "5000",
                "expected_revenue": "40000",
            },
        )
    for name, category, city in [
        ("Nordic Paper Supply", "Manufacturer", "Stockholm"),
        ("Atlas Freight", "Service Provider", "Rotterdam"),
        ("Blue Ocean Components", "Distributor", "Gdańsk"),
    ]:
        make(
            "vendors",
            {"name": name, "category": category, "city": city, "email": f"orders@{name.split()[0].lower()}.example"},
        )
    return created
