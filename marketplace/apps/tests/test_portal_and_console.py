"""Partners register apps and rotate secrets in the portal; operators review versions and suspend apps."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client

from conftest import make_user
from marketplace.apps.models import App, AppStatus, AppVersion, ReviewState
from marketplace.apps.tests.conftest import REDIRECT
from marketplace.partners.models import Partner, PartnerMember, PartnerRole
from tenants.models import User
from tenants.runtime import use_public_schema

pytestmark = pytest.mark.django_db


def portal(user: User | None) -> Client:
    client = Client(HTTP_HOST="localhost")
    if user is not None:
        use_public_schema()
        client.force_login(user, backend="tenants.auth.EmailBackend")
    return client


@pytest.fixture
def console(db: None) -> Client:
    operator = User.objects.create_superuser("op-console@example.com", "operator-pass-123", name="Operator")
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    return client


FORM = {
    "name": "Maps Sync",
    "description": "Maps",
    "listing": "",
    "redirect_uris": REDIRECT,
    "scopes": ["contacts:read"],
}


def test_partner_registers_an_app_and_sees_the_secret_once(app_partner: Any) -> None:
    partner, pm = app_partner
    client = portal(pm.user)

    response = client.post(f"/partner-portal/{partner.slug}/apps/", FORM)

    assert response.status_code == 200
    app = App.objects.get(partner=partner)
    secret = response.context["secret"]
    assert secret in response.content.decode()
    assert app.client_secret != secret
    assert check_password(secret, app.client_secret)
    assert app.approved is False
    version = AppVersion.objects.get(app=app)
    assert (version.state, version.redirect_uris, version.scopes) == (
        ReviewState.SUBMITTED,
        [REDIRECT],
        ["contacts:read"],
    )
    page = client.get(f"/partner-portal/{partner.slug}/apps/{app.pk}/").content.decode()
    assert app.client_id in page
    assert secret not in page


def test_rotating_the_secret_replaces_it(app_partner: Any) -> None:
    partner, pm = app_partner
    client = portal(pm.user)
    first = client.post(f"/partner-portal/{partner.slug}/apps/", FORM).context["secret"]
    app = App.objects.get(partner=partner)

    second = client.post(f"/partner-portal/{partner.slug}/apps/{app.pk}/secret/").context["secret"]

    app.refresh_from_db()
    assert second != first
    assert check_password(second, app.client_secret)
    assert not check_password(first, app.client_secret)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({**FORM, "redirect_uris": "ftp://files.example/cb"}, "redirect_uris", "is not an absolute"),
        ({**FORM, "redirect_uris": "https://app.example/cb#frag"}, "redirect_uris", "without a fragment"),
        ({**FORM, "scopes": ["nosuchmodule:read"]}, "scopes", "Select a valid choice."),
        ({**FORM, "name": ""}, "name", "This field is required."),
    ],
)
def test_bad_registrations_are_field_errors_and_create_nothing(
    app_partner: Any, form: dict[str, Any], field: str, message: str
) -> None:
    partner, pm = app_partner

    response = portal(pm.user).post(f"/partner-portal/{partner.slug}/apps/", form)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not App.objects.exists()


def test_portal_access_matrix(app_partner: Any, make_app: Any) -> None:
    partner, _pm = app_partner
    app, _secret = make_app()
    sales = make_user(name="Sales Person")
    PartnerMember.objects.create(partner=partner, user=sales, role=PartnerRole.SALES)
    other = Partner.objects.create(slug="other-co", name="Other Co")
    stranger = make_user(name="Other Owner")
    PartnerMember.objects.create(partner=other, user=stranger, role=PartnerRole.OWNER)
    url = f"/partner-portal/{partner.slug}/apps/{app.pk}/"

    assert portal(None).get(url).status_code == 302
    assert portal(stranger).get(url).status_code == 404
    assert portal(stranger).get(f"/partner-portal/other-co/apps/{app.pk}/").status_code == 404
    assert portal(sales).get(url).status_code == 403
    assert portal(sales).post(f"{url}secret/").status_code == 403
    before = App.objects.get(pk=app.pk).client_secret
    assert App.objects.get(pk=app.pk).client_secret == before


def test_new_version_applies_only_after_review(app_partner: Any, make_app: Any, console: Client) -> None:
    partner, pm = app_partner
    app, _secret = make_app(["contacts:read"])
    client = portal(pm.user)
    client.post(
        f"/partner-portal/{partner.slug}/apps/{app.pk}/",
        {"redirect_uris": "https://new.example/cb", "scopes": ["deals:read"]},
    )
    version = AppVersion.objects.get(app=app, number=2)
    app.refresh_from_db()
    assert (app.redirect_uris, app.scopes) == (REDIRECT, ["contacts:read"])

    rejected = console.post(
        f"/admin/marketplace_apps/appversion/{version.pk}/change/", {"decision": "reject", "review_notes": ""}
    )
    assert rejected.status_code == 200  # notes are required
    response = console.post(
        f"/admin/marketplace_apps/appversion/{version.pk}/change/", {"decision": "approve", "review_notes": "ok"}
    )

    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.redirect_uris, app.scopes) == ("https://new.example/cb", ["deals:read"])


def test_operator_suspends_from_the_console(make_app: Any, console: Client) -> None:
    app, _secret = make_app()

    missing_reason = console.post(
        f"/admin/marketplace_apps/app/{app.pk}/change/", {"suspension": "suspend", "suspended_reason": ""}
    )
    response = console.post(
        f"/admin/marketplace_apps/app/{app.pk}/change/", {"suspension": "suspend", "suspended_reason": "Abuse"}
    )

    assert missing_reason.status_code == 200
    assert response.status_code == 302
    app.refresh_from_db()
    assert (app.status, app.suspended_reason) == (AppStatus.SUSPENDED, "Abuse")
    assert console.get("/admin/marketplace_apps/appinstallation/").status_code == 200
    assert console.get("/admin/marketplace_apps/app/").status_code == 200
