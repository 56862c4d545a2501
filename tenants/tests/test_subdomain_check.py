"""The signup form's live subdomain check: suggestion, availability, real address, rate limit."""

from __future__ import annotations

import pytest

from tenants.services import SUBDOMAIN_CHECK_LIMIT, subdomain_slugify

pytestmark = pytest.mark.django_db
URL = "/signup/subdomain"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("ООО «Рога и копыта»", "ooo-roga-i-kopyta"),
        ("Щука & Ёж", "shchuka-ezh"),
        ("Подъезд", "podezd"),
        ("Société Générale", "societe-generale"),
        ("Acme Corp", "acme-corp"),
        ("!!!", ""),
    ],
)
def test_organisation_names_become_subdomains(name, slug):
    assert subdomain_slugify(name) == slug


def test_suggests_a_free_subdomain_and_previews_the_real_address_with_the_port(public_client, settings):
    settings.PUBLIC_PORT = 8000

    response = public_client.get(URL, {"organization": "Рога и копыта"})

    assert response.status_code == 200
    assert response.json() == {
        "suggestion": "roga-i-kopyta",
        "subdomain": "roga-i-kopyta",
        "available": True,
        "message": "This address is free.",
        "url": "http://roga-i-kopyta.localhost:8000/",
    }


def test_a_taken_subdomain_gets_a_number_and_a_checked_one_says_taken(public_client, tenant_a):
    suggested = public_client.get(URL, {"organization": "Alpha"}).json()
    checked = public_client.get(URL, {"subdomain": "alpha"}).json()

    assert (suggested["suggestion"], suggested["available"]) == ("alpha-2", True)
    assert (checked["available"], checked["message"]) == (False, "This subdomain is already taken.")
    assert "suggestion" not in checked


def test_reserved_and_invalid_subdomains_get_the_signup_message(public_client):
    reserved = public_client.get(URL, {"subdomain": "admin"}).json()
    invalid = public_client.get(URL, {"subdomain": "-x"}).json()

    assert (reserved["available"], reserved["message"]) == (False, "This subdomain is reserved. Please choose another.")
    assert invalid["available"] is False


def test_checks_are_rate_limited_per_address(public_client):
    for _ in range(SUBDOMAIN_CHECK_LIMIT):
        assert public_client.get(URL, {"subdomain": "free-one"}, REMOTE_ADDR="10.9.8.7").status_code == 200

    limited = public_client.get(URL, {"subdomain": "free-one"}, REMOTE_ADDR="10.9.8.7")
    other = public_client.get(URL, {"subdomain": "free-one"}, REMOTE_ADDR="10.9.8.8")

    assert limited.status_code == 429
    assert other.status_code == 200


def test_the_check_is_not_served_on_a_tenant_host(client_for, tenant_a):
    assert client_for(tenant_a).get(URL).status_code == 404


def test_signup_page_shows_the_address_preview(public_client):
    html = public_client.get("/signup/").content.decode()

    assert 'data-subdomain-check="/signup/subdomain"' in html
    assert "http://your-subdomain.localhost:8000/" in html
