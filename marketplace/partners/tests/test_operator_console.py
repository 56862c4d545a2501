"""Operator console (Django admin, bare domain): partners, members, leads, prices, badge revocation."""

from __future__ import annotations

import pytest
from django.test import Client

from marketplace.partners.models import ListingPrice, ListingState, Partner, PartnerLead
from tenants.models import User


@pytest.fixture
def console(db: None) -> Client:
    operator = User.objects.create_superuser("operator@example.com", "operator-pass-123", name="Operator")
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/partners/partner/",
        "/admin/partners/partnermember/",
        "/admin/partners/partnerlead/",
        "/admin/partners/listingprice/",
        "/admin/partners/partneraccess/",
        "/admin/partners/partnerinvitation/",
    ],
)
def test_console_lists(console, make_partner, url):
    make_partner()
    assert console.get(url).status_code == 200


def test_console_is_staff_only(make_partner, portal_client):
    partner = make_partner()
    response = portal_client(partner.owner_user).get("/admin/partners/partner/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_change_page_and_lead_detail(console, make_partner):
    partner = make_partner()
    lead = PartnerLead.objects.create(partner=partner, name="Vera", email="v@example.com", message="Hello")
    assert console.get(f"/admin/partners/partner/{partner.pk}/change/").status_code == 200
    assert console.get(f"/admin/partners/partnerlead/{lead.pk}/change/").status_code == 200


def test_revoke_badge_needs_a_reason_then_restore(console, make_partner):
    partner = make_partner(is_authorised=True, listing_state=ListingState.ACTIVE)
    url = f"/admin/partners/partner/{partner.pk}/revoke-badge/"
    assert console.get(url).status_code == 200
    empty = console.post(url, {"reason": ""})
    assert empty.status_code == 200
    partner.refresh_from_db()
    assert partner.is_authorised
    done = console.post(url, {"reason": "Fake certification"})
    assert done.status_code == 302
    partner.refresh_from_db()
    assert not partner.is_authorised
    assert partner.badge_revoked_reason == "Fake certification"
    assert partner.badge_revoked_by.email == "operator@example.com"
    console.post(f"/admin/partners/partner/{partner.pk}/restore-badge/")
    partner.refresh_from_db()
    assert partner.is_authorised and partner.badge_revoked_at is None


def test_operator_sets_listing_price(console):
    price = ListingPrice.objects.get(period="month", currency="usd")
    response = console.post(
        f"/admin/partners/listingprice/{price.pk}/change/",
        {"period": "month", "currency": "USD", "amount": "5900", "is_active": "on"},
    )
    assert response.status_code == 302
    price.refresh_from_db()
    assert (price.amount, price.currency) == (5900, "usd")


def test_seed_partners_is_idempotent_and_valid(db, public_client):
    from django.core.management import call_command

    call_command("seed_partners", "--quiet")
    call_command("seed_partners", "--quiet")
    seeded = Partner.objects.filter(slug__in=["nordic-crm-partners", "integra-works", "pacific-sales-ops"])
    assert seeded.count() == 3
    from marketplace.partners import choices

    for partner in seeded:
        partner.full_clean()
        assert set(partner.countries) <= dict(choices.country_choices()).keys()
        assert set(partner.languages) <= dict(choices.language_choices()).keys()
        assert set(partner.regions) <= dict(choices.region_choices()).keys()
        assert set(partner.services) <= dict(choices.service_choices()).keys()
        assert set(partner.industries) <= dict(choices.industry_choices()).keys()
        assert partner.members.get().role == "owner"
        assert not partner.is_authorised
    response = public_client.get("/partners/", {"country": "SE"})
    assert [p.slug for p in response.context["page"].object_list] == ["nordic-crm-partners"]


def test_partners_are_hidden_not_deleted(console, make_partner):
    partner = make_partner()
    assert console.get(f"/admin/partners/partner/{partner.pk}/delete/").status_code == 403
    assert Partner.objects.filter(pk=partner.pk).exists()
