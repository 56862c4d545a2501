"""Partner portal: signup, sign-in, the permission matrix of every page, team management and invitations."""

from __future__ import annotations

import pytest
from django.core import mail

from conftest import TEST_PASSWORD, make_user
from marketplace.partners.models import Partner, PartnerInvitation, PartnerMember, PartnerRole
from marketplace.partners.services import partner_invitation_create
from tenants.models import User

# (url name suffix, method, which roles may) - anonymous goes to the sign-in page, strangers get 404.
PAGES = [
    ("dashboard", "get", {"owner", "developer", "sales"}),
    ("profile", "get", {"owner", "developer", "sales"}),
    ("team", "get", {"owner", "developer", "sales"}),
    ("leads", "get", {"owner", "sales"}),
    ("listing", "get", {"owner"}),
    ("workspaces", "get", {"owner", "developer", "sales"}),
]


@pytest.mark.parametrize(("page", "method", "allowed"), PAGES)
@pytest.mark.parametrize("who", ["anonymous", "stranger", "other_owner", "owner", "developer", "sales"])
def test_portal_permission_matrix(make_partner, team_member, portal_client, page, method, allowed, who):
    partner = make_partner()
    other = make_partner()
    user = {
        "anonymous": None,
        "stranger": make_user(),
        "other_owner": other.owner_user,
        "owner": partner.owner_user,
    }.get(who) or (team_member(partner, who) if who in ("developer", "sales") else None)
    response = getattr(portal_client(user), method)(
        f"/partner-portal/{partner.slug}/{'' if page == 'dashboard' else page + '/'}"
    )
    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/partner-portal/login/?next=")
    elif who in ("stranger", "other_owner"):
        assert response.status_code == 404
    elif who in allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


def _profile_post(name="Renamed", **extra):
    return {"name": name, "website": "https://example.com", "description": "We do CRM.", **extra}


@pytest.mark.parametrize(
    ("who", "status", "changed"), [("owner", 302, True), ("sales", 302, True), ("developer", 403, False)]
)
def test_profile_edit_by_role(make_partner, team_member, portal_client, who, status, changed):
    partner = make_partner(name="Original")
    user = partner.owner_user if who == "owner" else team_member(partner, who)
    response = portal_client(user).post(f"/partner-portal/{partner.slug}/profile/", _profile_post())
    assert response.status_code == status
    partner.refresh_from_db()
    assert (partner.name == "Renamed") is changed


def test_other_partners_owner_cannot_edit_profile(make_partner, portal_client):
    partner = make_partner(name="Original")
    intruder = make_partner()
    response = portal_client(intruder.owner_user).post(f"/partner-portal/{partner.slug}/profile/", _profile_post())
    assert response.status_code == 404
    partner.refresh_from_db()
    assert partner.name == "Original"


def test_profile_saves_choices_and_refuses_unknown_codes(make_partner, portal_client):
    partner = make_partner()
    client = portal_client(partner.owner_user)
    data = _profile_post(
        countries=["DE", "FR"],
        regions=["150"],
        languages=["de", "fr"],
        services=["training", "integration"],
        industries=["retail"],
        certifications="CRM Expert\nCRM Expert\nData Pro",
    )
    assert client.post(f"/partner-portal/{partner.slug}/profile/", data).status_code == 302
    partner.refresh_from_db()
    assert partner.countries == ["DE", "FR"]
    assert partner.regions == ["150"]
    assert partner.languages == ["de", "fr"]
    assert partner.services == ["training", "integration"]
    assert partner.industries == ["retail"]
    assert partner.certifications == ["CRM Expert", "Data Pro"]

    bad = client.post(
        f"/partner-portal/{partner.slug}/profile/",
        _profile_post(name="X", countries=["ZZ"], website="javascript:alert(1)"),
    )
    assert bad.status_code == 200
    assert "countries" in bad.context["form"].errors
    assert "website" in bad.context["form"].errors
    partner.refresh_from_db()
    assert partner.name == "Renamed" and partner.countries == ["DE", "FR"]


def test_signup_new_identity_creates_user_partner_and_owner(public_client):
    response = public_client.post(
        "/partner-portal/signup/",
        {
            "name": "Nina Partner",
            "email": "Nina@Example.com",
            "password": TEST_PASSWORD,
            "partner_name": "Nina Consulting",
            "slug": "nina-consulting",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/partner-portal/nina-consulting/profile/"
    user = User.objects.get(email="nina@example.com")
    partner = Partner.objects.get(slug="nina-consulting")
    assert PartnerMember.objects.get(partner=partner).user == user
    assert PartnerMember.objects.get(partner=partner).role == PartnerRole.OWNER
    # signed in on the bare domain
    assert public_client.get("/partner-portal/nina-consulting/").status_code == 200


def test_signup_with_existing_email_asks_to_sign_in_and_changes_nothing(public_client):
    make_user("taken@example.com")
    response = public_client.post(
        "/partner-portal/signup/",
        {"name": "X", "email": "taken@example.com", "password": TEST_PASSWORD, "partner_name": "X Co", "slug": "x-co"},
    )
    assert response.status_code == 200
    assert "sign in first" in str(response.context["form"].errors["email"])
    assert not Partner.objects.filter(slug="x-co").exists()


def test_signed_in_user_creates_partner_and_duplicate_slug_is_refused(make_partner, portal_client):
    existing = make_partner(slug="taken-slug")
    user = make_user()
    client = portal_client(user)
    bad = client.post("/partner-portal/signup/", {"partner_name": "Mine", "slug": existing.slug})
    assert bad.status_code == 200
    assert "slug" in bad.context["form"].errors
    good = client.post("/partner-portal/signup/", {"partner_name": "Mine", "slug": "mine-co"})
    assert good.status_code == 302
    assert PartnerMember.objects.get(partner__slug="mine-co").user == user


def test_login_on_bare_domain_and_failure_limit(public_client):
    user = make_user("pp@example.com")
    bad = public_client.post("/partner-portal/login/", {"username": user.email, "password": "wrong-password"})
    assert bad.status_code == 200
    good = public_client.post(
        "/partner-portal/login/", {"username": user.email, "password": TEST_PASSWORD, "next": "https://evil.example/"}
    )
    assert good.status_code == 302
    assert good["Location"] == "/partner-portal/"


def test_login_blocked_after_repeated_failures(public_client):
    user = make_user("pp2@example.com")
    for _ in range(10):
        public_client.post("/partner-portal/login/", {"username": user.email, "password": "wrong-password"})
    blocked = public_client.post("/partner-portal/login/", {"username": user.email, "password": TEST_PASSWORD})
    assert blocked.status_code == 429


def test_invitation_flow_and_wrong_account(make_partner, portal_client, django_capture_on_commit_callbacks):
    partner = make_partner()
    owner_client = portal_client(partner.owner_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            f"/partner-portal/{partner.slug}/team/", {"email": "dev@example.com", "role": "developer"}
        )
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["dev@example.com"]
    key = mail.outbox[-1].body.split("/partner-portal/invitations/")[1].split("/")[0]

    wrong = make_user("someone-else@example.com")
    refused = portal_client(wrong).post(f"/partner-portal/invitations/{key}/")
    assert "sign in with that address" in refused.content.decode()
    assert not PartnerMember.objects.filter(partner=partner, user=wrong).exists()

    dev = make_user("dev@example.com")
    accepted = portal_client(dev).post(f"/partner-portal/invitations/{key}/")
    assert accepted.status_code == 302
    assert PartnerMember.objects.get(partner=partner, user=dev).role == PartnerRole.DEVELOPER
    # used once
    again = portal_client(dev).get(f"/partner-portal/invitations/{key}/")
    assert again.status_code == 404


def test_only_owners_invite(make_partner, team_member, portal_client):
    partner = make_partner()
    sales = team_member(partner, "sales")
    response = portal_client(sales).post(
        f"/partner-portal/{partner.slug}/team/", {"email": "x@example.com", "role": "owner"}
    )
    assert response.status_code == 403
    assert not PartnerInvitation.objects.filter(partner=partner).exists()


def test_last_owner_cannot_be_demoted_or_removed(make_partner, team_member, portal_client):
    partner = make_partner()
    owner_pm = PartnerMember.objects.get(partner=partner, user=partner.owner_user)
    client = portal_client(partner.owner_user)
    client.post(f"/partner-portal/{partner.slug}/team/{owner_pm.pk}/role/", {"role": "sales"})
    owner_pm.refresh_from_db()
    assert owner_pm.role == PartnerRole.OWNER
    sales = team_member(partner, "sales")
    sales_pm = PartnerMember.objects.get(partner=partner, user=sales)
    client.post(f"/partner-portal/{partner.slug}/team/{sales_pm.pk}/role/", {"role": "owner"})
    sales_pm.refresh_from_db()
    assert sales_pm.role == PartnerRole.OWNER
    client.post(f"/partner-portal/{partner.slug}/team/{sales_pm.pk}/remove/")
    assert not PartnerMember.objects.filter(pk=sales_pm.pk).exists()


def test_owner_cannot_touch_another_partners_team(make_partner, portal_client):
    partner = make_partner()
    other = make_partner()
    victim = PartnerMember.objects.get(partner=other)
    response = portal_client(partner.owner_user).post(f"/partner-portal/{partner.slug}/team/{victim.pk}/remove/")
    assert response.status_code == 404
    assert PartnerMember.objects.filter(pk=victim.pk).exists()


def test_invitation_service_refuses_bad_input(make_partner):
    partner = make_partner()
    owner_pm = PartnerMember.objects.get(partner=partner)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        partner_invitation_create(actor=owner_pm, partner=partner, email="not-an-email", role="king")
    assert set(exc.value.message_dict) == {"email", "role"}
    assert not PartnerInvitation.objects.exists()


def test_partner_signups_share_the_per_address_limit(public_client, settings):
    from tenants.services import SIGNUP_LIMIT

    for i in range(SIGNUP_LIMIT):
        public_client.post("/partner-portal/signup/", {"name": "", "email": f"x{i}@example.com"})
    blocked = public_client.post(
        "/partner-portal/signup/",
        {
            "name": "Late",
            "email": "late@example.com",
            "password": TEST_PASSWORD,
            "partner_name": "Late Co",
            "slug": "late-co",
        },
    )
    assert blocked.status_code == 429
    assert not Partner.objects.filter(slug="late-co").exists()
