"""Public directory: search, filters, authorised first, pagination, profile pages and the contact form."""

from __future__ import annotations

import time

import pytest
from django.core import mail, signing

from marketplace.partners.forms import FORM_SALT
from marketplace.partners.models import PartnerLead


def names(response) -> list[str]:
    return [p.name for p in response.context["page"].object_list]


@pytest.fixture
def listed(make_partner):
    return {
        "alpha": make_partner(
            name="Alpha Consulting",
            description="Implementation for retailers",
            countries=["DE"],
            languages=["de"],
            services=["implementation"],
            industries=["retail"],
        ),
        "beta": make_partner(
            name="Beta Training",
            description="We teach teams",
            countries=["FR", "DE"],
            languages=["fr"],
            services=["training"],
            industries=["education"],
            is_authorised=True,
            listing_state="active",
        ),
        "gamma": make_partner(
            name="Gamma Integrations",
            description="APIs and connectors",
            countries=["US"],
            languages=["en"],
            services=["integration"],
            industries=["technology"],
        ),
        "hidden": make_partner(name="Hidden Co", description="retailers", is_active=False, countries=["DE"]),
    }


def test_authorised_first_then_by_name_and_hidden_ones_never(public_client, listed):
    response = public_client.get("/partners/")
    assert response.status_code == 200
    shown = [
        n for n in names(response) if n in {"Alpha Consulting", "Beta Training", "Gamma Integrations", "Hidden Co"}
    ]
    assert shown == ["Beta Training", "Alpha Consulting", "Gamma Integrations"]
    assert names(response)[0] == "Beta Training"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "retailers"}, ["Alpha Consulting"]),
        ({"q": "beta"}, ["Beta Training"]),
        ({"country": "DE"}, ["Beta Training", "Alpha Consulting"]),
        ({"language": "en"}, ["Gamma Integrations"]),
        ({"service": "training"}, ["Beta Training"]),
        ({"industry": "technology"}, ["Gamma Integrations"]),
        ({"authorised": "on", "country": "DE"}, ["Beta Training"]),
        ({"country": "DE", "service": "integration"}, []),
    ],
)
def test_filters(public_client, listed, query, expected):
    response = public_client.get("/partners/", query)
    assert response.status_code == 200
    assert [n for n in names(response) if n in {p.name for p in listed.values()}] == expected


def test_unknown_filter_value_is_ignored_not_500(public_client, listed):
    response = public_client.get("/partners/", {"country": "<script>", "page": "abc"})
    assert response.status_code == 200


def test_pagination(public_client, make_partner):
    for i in range(23):
        make_partner(name=f"Paged {i:02d}", services=["support"])
    first = public_client.get("/partners/", {"service": "support"})
    assert len(names(first)) == 20
    second = public_client.get("/partners/", {"service": "support", "page": 2})
    assert names(second) == ["Paged 20", "Paged 21", "Paged 22"]
    assert "service=support" in second.content.decode()


def test_profile_page_and_hidden_partner_404(public_client, listed):
    page = public_client.get(f"/partners/{listed['beta'].slug}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Beta Training" in html and "Authorised partner" in html and "France" in html
    assert public_client.get(f"/partners/{listed['hidden'].slug}/").status_code == 404
    assert public_client.get("/partners/no-such-partner/").status_code == 404


# Contact form --------------------------------------------------------------------------------------


def started(seconds_ago: int = 10) -> str:
    return signing.dumps(int(time.time()) - seconds_ago, salt=FORM_SALT)


def contact(client, partner, **overrides):
    data = {
        "name": "Vera Visitor",
        "email": "vera@example.com",
        "company": "Vera GmbH",
        "phone": "+49 30 1234567",
        "country": "DE",
        "message": "We need help migrating 20 users.",
        "homepage": "",
        "started": started(),
        **overrides,
    }
    return client.post(f"/partners/{partner.slug}/", data)


def test_contact_creates_lead_emails_owners_after_commit(public_client, listed, django_capture_on_commit_callbacks):
    partner = listed["alpha"]
    with django_capture_on_commit_callbacks(execute=True):
        response = contact(public_client, partner)
    assert response.status_code == 302
    assert response["Location"] == f"/partners/{partner.slug}/sent/"
    lead = PartnerLead.objects.get(partner=partner)
    assert (lead.name, lead.email, lead.company, lead.country) == (
        "Vera Visitor",
        "vera@example.com",
        "Vera GmbH",
        "DE",
    )
    assert mail.outbox[-1].to == [partner.owner_user.email]
    assert "Vera Visitor" in mail.outbox[-1].subject
    assert "We need help migrating 20 users." in mail.outbox[-1].body


def test_lead_shows_in_portal_of_its_partner_only(public_client, listed, portal_client):
    contact(public_client, listed["alpha"])
    lead = PartnerLead.objects.get(partner=listed["alpha"])
    inbox = portal_client(listed["alpha"].owner_user).get(f"/partner-portal/{listed['alpha'].slug}/leads/")
    assert "Vera Visitor" in inbox.content.decode()
    detail = portal_client(listed["alpha"].owner_user).get(f"/partner-portal/{listed['alpha'].slug}/leads/{lead.pk}/")
    assert detail.status_code == 200
    lead.refresh_from_db()
    assert lead.read_at is not None
    # another partner's owner: neither in its inbox nor by id through its own slug
    other = listed["gamma"]
    assert (
        "Vera Visitor"
        not in portal_client(other.owner_user).get(f"/partner-portal/{other.slug}/leads/").content.decode()
    )
    assert portal_client(other.owner_user).get(f"/partner-portal/{other.slug}/leads/{lead.pk}/").status_code == 404


def test_honeypot_is_silently_dropped(public_client, listed):
    response = contact(public_client, listed["alpha"], homepage="http://spam.example")
    assert response.status_code == 302  # a bot learns nothing
    assert not PartnerLead.objects.exists()
    assert not mail.outbox


@pytest.mark.parametrize("token", [None, "forged", "too-fast"])
def test_missing_forged_or_too_fast_form_is_dropped(public_client, listed, token):
    value = {"forged": "123:abc", "too-fast": started(0), None: ""}[token]
    response = contact(public_client, listed["alpha"], started=value)
    assert response.status_code == 302
    assert not PartnerLead.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "Enter a valid email address."),
        ("name", "", "This field is required."),
        ("message", "x" * 3001, "Ensure this value has at most 3000 characters (it has 3001)."),
        ("message", "<a href='http://x'>buy</a>", "Please write plain text, without HTML or other markup."),
        ("message", "see http://a.example http://b.example http://c.example", "Please include at most 2 links."),
        ("phone", "call me maybe", "Enter a phone number: digits, spaces and + ( ) - . only."),
        ("country", "XX", "Select a valid choice. XX is not one of the available choices."),
        ("name", "bad\x00name", "Null characters are not allowed."),
    ],
)
def test_bad_input_gets_field_error_and_stores_nothing(public_client, listed, field, value, message):
    response = contact(public_client, listed["alpha"], **{field: value})
    assert response.status_code == 400
    assert message in response.context["form"].errors[field]
    assert not PartnerLead.objects.exists()


def test_rate_limit_per_address(public_client, listed):
    for i in range(5):
        assert contact(public_client, listed["alpha"], message=f"Message {i}").status_code == 302
    blocked = contact(public_client, listed["beta"], message="One more")
    assert blocked.status_code == 429
    assert "Too many messages" in blocked.content.decode()
    assert PartnerLead.objects.count() == 5
    # another address is not affected
    other = contact(public_client.__class__(HTTP_HOST="localhost", REMOTE_ADDR="10.9.9.9"), listed["beta"])
    assert other.status_code == 302


def test_contact_form_is_labelled(public_client, listed):
    html = public_client.get(f"/partners/{listed['alpha'].slug}/").content.decode()
    for field in ("name", "email", "company", "phone", "country", "message"):
        assert f'for="id_{field}"' in html


def test_daily_cap_per_partner_across_addresses(public_client, listed, monkeypatch):
    from marketplace.partners import views

    monkeypatch.setattr(views, "PARTNER_LEADS_PER_DAY", 3)
    for i in range(3):
        client = public_client.__class__(HTTP_HOST="localhost", REMOTE_ADDR=f"10.0.0.{i + 1}")
        assert contact(client, listed["alpha"], message=f"Hello {i}").status_code == 302
    late = contact(public_client.__class__(HTTP_HOST="localhost", REMOTE_ADDR="10.0.0.99"), listed["alpha"])
    assert late.status_code == 429
    assert "cannot receive more messages today" in late.content.decode()
    assert PartnerLead.objects.filter(partner=listed["alpha"]).count() == 3
    # other partners are not affected
    assert (
        contact(public_client.__class__(HTTP_HOST="localhost", REMOTE_ADDR="10.0.0.98"), listed["beta"]).status_code
        == 302
    )


def test_the_directory_lists_only_approved_partners_with_complete_profiles(public_client, make_partner):
    make_partner(name="Approved Complete")
    waiting = make_partner(name="Waiting Co", approved_at=None)
    make_partner(name="Blank Profile", description="", countries=[], services=[])
    make_partner(name="No Service", services=[])
    hidden = make_partner(name="Hidden By Operators", is_active=False)

    assert names(public_client.get("/partners/")) == ["Approved Complete"]
    for partner in (waiting, hidden):
        assert public_client.get(f"/partners/{partner.slug}/").status_code == 404
        assert public_client.get(f"/partners/{partner.slug}/logo.png").status_code == 404


def test_operators_approve_and_hide_partners_from_the_console(public_client, make_partner):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.test import Client

    from conftest import make_user
    from marketplace.partners.models import Partner
    from tenants.models import User

    waiting = make_partner(name="Waiting Co", approved_at=None)
    incomplete = make_partner(name="Half Done", approved_at=None, countries=[])
    operator = make_user(name="Operator")
    User.objects.filter(pk=operator.pk).update(is_staff=True, is_superuser=True)
    operator.refresh_from_db()
    console = Client(HTTP_HOST="localhost")
    console.force_login(operator, backend="tenants.auth.EmailBackend")

    def act(action: str, *partners: Partner):
        ids = [str(p.pk) for p in partners]
        return console.post("/admin/partners/partner/", {"action": action, ACTION_CHECKBOX_NAME: ids}, follow=True)

    page = act("approve_for_directory", waiting, incomplete)
    assert "not listed until the profile has at least one country" in page.content.decode()
    assert names(public_client.get("/partners/")) == ["Waiting Co"]
    assert Partner.objects.get(pk=waiting.pk).approved_by == operator

    act("hide_from_directory", waiting)
    assert names(public_client.get("/partners/")) == []
    act("show_in_directory", waiting)
    assert names(public_client.get("/partners/")) == ["Waiting Co"]


def test_approving_needs_an_operator(make_partner):
    from django.core.exceptions import PermissionDenied

    from conftest import make_user
    from marketplace.partners.services import partners_approve

    partner = make_partner(approved_at=None)
    with pytest.raises(PermissionDenied):
        partners_approve(operator=make_user(name="Someone"), partners=[partner])
    partner.refresh_from_db()
    assert partner.approved_at is None


def test_the_portal_tells_the_partner_why_it_is_not_listed(make_partner, portal_client):
    partner = make_partner(name="Half Done", approved_at=None, services=[])
    page = portal_client(partner.owner_user).get(f"/partner-portal/{partner.slug}/profile/").content.decode()
    assert "the profile needs at least one service" in page
    assert "an operator reviews it" in page
