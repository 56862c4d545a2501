"""Partner fixtures: partners with a team, clients signed in on the bare domain; billing's Stripe fixtures."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from billing.tests.conftest import stripe_server, webhook_secret  # noqa: F401  (fixtures)
from conftest import make_user
from marketplace.partners.models import Partner, PartnerMember, PartnerRole
from tenants.models import User
from tenants.runtime import use_public_schema

_n = itertools.count()


@pytest.fixture
def make_partner(db: None) -> Callable[..., Partner]:
    """make_partner(name=..., **fields) -> a Partner with an owner (partner.owner_user)."""

    def make(name: str | None = None, **fields: Any) -> Partner:
        n = next(_n)
        name = name or f"Partner {n}"
        # Listed by default: approved, with a complete profile (the description repeats the name and the
        # country and service are ones no directory test filters on, so searches see no new words).
        fields.setdefault("approved_at", timezone.now())
        fields.setdefault("description", name)
        fields.setdefault("countries", ["IS"])
        fields.setdefault("services", ["migration"])
        partner = Partner.objects.create(name=name, slug=fields.pop("slug", f"partner-{n}"), **fields)
        owner = make_user(name=f"Owner {n}")
        PartnerMember.objects.create(partner=partner, user=owner, role=PartnerRole.OWNER)
        partner.owner_user = owner  # type: ignore[attr-defined]
        return partner

    return make


@pytest.fixture
def team_member() -> Callable[[Partner, str], User]:
    def add(partner: Partner, role: str) -> User:
        user = make_user(name=f"{role.title()} Person")
        PartnerMember.objects.create(partner=partner, user=user, role=role)
        return user

    return add


@pytest.fixture
def portal_client(db: None) -> Callable[[User | None], Client]:
    """portal_client(user) -> a client on the bare domain, signed in as `user` (anonymous for None)."""

    def make(user: User | None) -> Client:
        client = Client(HTTP_HOST="localhost")
        if user is not None:
            use_public_schema()  # a tenant request earlier in the test left the connection there
            client.force_login(user, backend="tenants.auth.EmailBackend")
        return client

    return make
