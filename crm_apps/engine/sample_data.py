"""Realistic sample records for the demo tenant (`manage.py seed_demo`), created through the services.

Each module creates its own records through its spec's `sample_data(ctx)` hook; this file only runs
the hooks (a module after the modules named in its `sample_data_after`) and holds the shared demo
vocabulary (company and people names) so records of different modules fit together."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.services import comment_add, record_create
from crm_apps.engine.spec import ModuleSpec

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
SOURCES = ["Web Site", "Trade Show", "Cold Call", "Partner", "Word of mouth", "Conference"]


def ascii_text(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def email_for(first: str, last: str, company: str) -> str:
    domain = "".join(c for c in ascii_text(company.split()[0]) if c.isalnum()) + ".example"
    local = "".join(c for c in ascii_text(f"{first}.{last}") if c.isalnum() or c == ".")
    return f"{local}@{domain}"


@dataclass
class SampleContext:
    """What a module's `sample_data` hook gets: who owns records, a seeded random source, today, and
    the records the modules before it created (by module key)."""

    admin: Member
    owners: list[Member]
    rng: random.Random
    today: dt.date
    records: dict[str, list[Any]] = field(default_factory=dict)

    def make(self, module: str, data: dict[str, Any], custom: dict[str, Any] | None = None) -> Any:
        """Create one record through the engine's service, owned by a random member."""
        record = record_create(spec=registry.get(module), actor=self.rng.choice(self.owners), data=data, custom=custom)
        self.records.setdefault(module, []).append(record)
        return record

    def comment(self, module: str, record: Any, body: str) -> None:
        comment_add(spec=registry.get(module), actor=self.admin, record=record, body=body)


def sample_order(specs: list[ModuleSpec]) -> list[ModuleSpec]:
    """Specs with a sample_data hook, each after the modules it names in `sample_data_after`."""
    pending = {s.key: s for s in specs if s.sample_data is not None}
    ordered: list[ModuleSpec] = []
    done: set[str] = set()
    while pending:
        ready = [s for s in pending.values() if all(d in done or d not in pending for d in s.sample_data_after)]
        if not ready:
            raise ValueError(f"sample_data_after has a cycle among {sorted(pending)}")
        for spec in ready:
            ordered.append(spec)
            done.add(spec.key)
            del pending[spec.key]
    return ordered


def sample_data_run(
    *,
    admin: Member,
    members: list[Member],
    seed: int = 7,
    progress: Callable[[SampleContext, str, int, int], None] | None = None,
) -> SampleContext:
    """Run every module's sample hook in dependency order; the context holds what each created.

    `progress(ctx, module, done, total)` runs after each module, inside that module's transaction
    (the onboarding checklist tags the module's records there and shows the progress)."""
    ctx = SampleContext(
        admin=admin,
        owners=[admin, *members],
        rng=random.Random(seed),  # noqa: S311 - sample data, not security
        today=dt.date.today(),
    )
    ordered = sample_order(registry.all_specs())
    for index, spec in enumerate(ordered, start=1):
        assert spec.sample_data is not None
        with transaction.atomic():  # a module's sample rows (and what `progress` records of them) or none
            spec.sample_data(ctx)
            if progress is not None:
                progress(ctx, spec.key, index, len(ordered))
    return ctx


def sample_data_create(*, admin: Member, members: list[Member], seed: int = 7) -> dict[str, int]:
    """A small but lived-in CRM: every module's sample records, in dependency order."""
    ctx = sample_data_run(admin=admin, members=members, seed=seed)
    return {key: len(records) for key, records in ctx.records.items()}
