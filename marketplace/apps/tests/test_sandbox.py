"""Partner sandboxes: created from the portal, provisioned unbilled and labelled, where the partner's own
unreviewed app installs without review; closed to other partners' apps and invisible to other partners."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from billing import services as billing_services
from billing.events import subscription_apply
from billing.models import Plan, Subscription, SubscriptionStatus
from billing.selectors import billing_overview
from conftest import make_user, sign_in
from crm_apps.access.models import Member
from marketplace.apps import services
from marketplace.apps.models import AppInstallation, PartnerSandbox
from marketplace.apps.sandbox import SANDBOX_LIMIT
from marketplace.apps.tests.conftest import REDIRECT, consent, oauth_session
from marketplace.partners.models import Partner, PartnerMember, PartnerRole
from tenants.models import Tenant
from tenants.runtime import use_public_schema

pytestmark = pytest.mark.django_db


def portal(user: Any) -> Client:
    client = Client(HTTP_HOST="localhost")
    use_public_schema()
    client.force_login(user, backend="tenants.auth.EmailBackend")
    return client


def create_sandbox(pm: PartnerMember, name: str = "Dev") -> Tenant:
    response = portal(pm.user).post(f"/partner-portal/{pm.partner.slug}/sandboxes/", {"name": name})
    assert response.status_code == 302, response.content[:300]
    return PartnerSandbox.objects.filter(partner=pm.partner).latest("pk").tenant


def sandbox_client(tenant: Tenant, user: Any) -> Client:
    client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost")
    with schema_context(tenant.schema_name):
        sign_in(client, Member.objects.get(user=user))
    use_public_schema()
    return client


def test_partner_creates_a_sandbox_provisioned_unbilled_limited_and_labelled(app_partner: Any) -> None:
    partner, pm = app_partner
    paying_before = billing_overview().counts

    tenant = create_sandbox(pm, "Maps dev")

    assert tenant.is_sandbox is True
    assert tenant.plan_code == "sandbox"
    assert tenant.name == "Maps dev (sandbox)"
    assert not Subscription.objects.filter(tenant=tenant).exists()
    assert billing_overview().counts == paying_before
    with schema_context(tenant.schema_name):
        admin = Member.objects.get(user=pm.user)
    assert admin.is_admin is True
    page = portal(pm.user).get(f"/partner-portal/{partner.slug}/sandboxes/").content.decode()
    assert f'data-sandbox="{tenant.schema_name}"' in page
    home = sandbox_client(tenant, pm.user).get("/").content.decode()
    assert "data-sandbox-banner" in home


def test_sandbox_limit_and_bad_names_are_form_errors_that_create_nothing(app_partner: Any) -> None:
    partner, pm = app_partner
    client = portal(pm.user)
    url = f"/partner-portal/{partner.slug}/sandboxes/"

    empty = client.post(url, {"name": "  "})
    too_long = client.post(url, {"name": "x" * 61})

    assert empty.status_code == 400 and "This field is required." in empty.content.decode()
    assert too_long.status_code == 400
    assert not PartnerSandbox.objects.exists()
    for n in range(SANDBOX_LIMIT):
        create_sandbox(pm, f"Dev {n}")
    over = client.post(url, {"name": "One more"})
    assert over.status_code == 400
    assert f"A partner can have at most {SANDBOX_LIMIT} sandboxes." in over.content.decode()
    assert PartnerSandbox.objects.filter(partner=partner).count() == SANDBOX_LIMIT
    assert not Tenant.objects.filter(name="One more (sandbox)").exists()


def test_sandbox_pages_authorisation(app_partner: Any) -> None:
    partner, pm = app_partner
    create_sandbox(pm)
    sales = PartnerMember.objects.create(partner=partner, user=make_user(name="Sales"), role=PartnerRole.SALES)
    other = Partner.objects.create(slug="other-co", name="Other Co")
    other_owner = PartnerMember.objects.create(partner=other, user=make_user(name="Other"), role=PartnerRole.OWNER)
    url = f"/partner-portal/{partner.slug}/sandboxes/"

    anonymous = Client(HTTP_HOST="localhost").get(url)
    denied = portal(sales.user).post(url, {"name": "Sneaky"})
    stranger = portal(other_owner.user).get(url)
    own_list = portal(other_owner.user).get(f"/partner-portal/{other.slug}/sandboxes/")

    assert anonymous.status_code == 302
    assert denied.status_code == 403
    assert stranger.status_code == 404
    assert own_list.status_code == 200 and "data-sandbox=" not in own_list.content.decode()
    assert PartnerSandbox.objects.filter(partner=partner).count() == 1


def test_unreviewed_app_installs_in_its_partners_sandbox_only(
    app_partner: Any, make_app: Any, admin_client: Any, tenant_a: Any
) -> None:
    # Given an app never reviewed, and its partner's sandbox
    _partner, pm = app_partner
    app, secret = make_app(["contacts:read"], approve=False)
    sandbox = create_sandbox(pm)
    client = sandbox_client(sandbox, pm.user)

    # When the partner authorises it in the sandbox, code + PKCE without review
    session = oauth_session(app, scope=["contacts:read"])
    url, _state = session.authorization_url(f"https://{sandbox.schema_name}.localhost/oauth/authorize/")
    response = consent(client, url)
    assert response.status_code == 302, response.content[:300]
    token = session.fetch_token(
        f"https://{sandbox.schema_name}.localhost/oauth/token/",
        authorization_response=response["Location"],
        client_secret=secret,
    )

    # Then the token works there, with the draft's scopes
    assert token["scope"] == ["contacts:read"]
    assert session.get(f"https://{sandbox.schema_name}.localhost/api/v1/contacts/").status_code == 200
    assert AppInstallation.objects.get(app=app).tenant == sandbox

    # And on an ordinary workspace the unreviewed app is an unknown client (no consent screen, no code)
    elsewhere = oauth_session(app, scope=["contacts:read"])
    url, _state = elsewhere.authorization_url(f"https://{tenant_a.schema_name}.localhost/oauth/authorize/")
    parts = urlsplit(url)
    refused = admin_client(tenant_a).get(f"{parts.path}?{parts.query}")
    assert refused.status_code == 400
    assert not AppInstallation.objects.filter(app=app, tenant=tenant_a).exists()


def test_another_partners_app_never_installs_in_a_sandbox(
    app_partner: Any, make_app: Any, operator: Any, tenant_a: Any, admin_client: Any
) -> None:
    # Given an approved, live app of another partner
    other = Partner.objects.create(slug="rival-co", name="Rival Co")
    rival_pm = PartnerMember.objects.create(partner=other, user=make_user(name="Rival"), role=PartnerRole.OWNER)
    rival_app, _secret = services.app_register(
        pm=rival_pm, name="Rival Sync", redirect_uris=[REDIRECT], scopes=["contacts:read"]
    )
    services.app_version_review(version=rival_app.versions.get(), reviewer=operator, approve=True)
    rival_app.refresh_from_db()
    _partner, pm = app_partner
    sandbox = create_sandbox(pm)

    # When the sandbox's admin tries to install it
    session = oauth_session(rival_app)
    url, _state = session.authorization_url(f"https://{sandbox.schema_name}.localhost/oauth/authorize/")
    parts = urlsplit(url)
    page = sandbox_client(sandbox, pm.user).get(f"{parts.path}?{parts.query}")

    # Then it is an unknown client there, while an ordinary workspace can install it
    assert page.status_code == 400
    assert not AppInstallation.objects.filter(app=rival_app).exists()
    ordinary = consent(admin_client(tenant_a), url.replace(sandbox.schema_name, tenant_a.schema_name))
    assert ordinary.status_code == 302
    assert "code" in dict(parse_qsl(urlsplit(ordinary["Location"]).query))


def test_billing_in_a_sandbox_starts_nothing_and_keeps_the_sandbox_plan(
    app_partner: Any, admin_client: Any, tenant_a: Any
) -> None:
    # Given a sandbox, whose admin may manage billing, and a default plan new workspaces start a trial on
    _partner, pm = app_partner
    sandbox = create_sandbox(pm)
    client = sandbox_client(sandbox, pm.user)
    default = Plan.objects.get(is_default=True)

    # When its admin opens Billing, chooses a plan and asks for the payment portal
    page = client.get("/settings/billing/")
    choose = client.post("/settings/billing/choose/", {"plan": default.code, "period": "month", "currency": "usd"})
    portal_session = client.post("/settings/billing/portal/")
    home = client.get("/").content.decode()

    # Then it is told sandboxes are not billed, and nothing started: no trial, no plan change
    assert page.status_code == 200
    assert "data-sandbox-billing" in page.content.decode()
    assert "Sandboxes are not billed" in page.content.decode()
    assert choose.status_code == 409 and portal_session.status_code == 409
    sandbox.refresh_from_db()
    assert sandbox.plan_code == "sandbox"
    assert not Subscription.objects.filter(tenant=sandbox).exists()
    assert billing_services.subscription_ensure(tenant=sandbox) is None
    assert billing_services.subscription_start_trial(tenant=sandbox) is None
    assert not Subscription.objects.filter(tenant=sandbox).exists()
    # And its navigation has no Billing link, while an ordinary workspace keeps its billing page
    assert 'href="/settings/billing/"' not in home
    ordinary = admin_client(tenant_a)
    assert 'href="/settings/billing/"' in ordinary.get("/").content.decode()
    assert "data-sandbox-billing" not in ordinary.get("/settings/billing/").content.decode()


def test_a_sandbox_subscription_left_from_before_is_changed_by_neither_stripe_nor_operators(
    app_partner: Any, operator: Any
) -> None:
    # Given a sandbox that got a trial before sandboxes were excluded from billing
    _partner, pm = app_partner
    sandbox = create_sandbox(pm)
    default = Plan.objects.get(is_default=True)
    Subscription.objects.create(tenant=sandbox, plan=default, status=SubscriptionStatus.TRIALING)

    # When a Stripe subscription naming it arrives, and an operator extends its trial
    outcome = subscription_apply(
        {
            "id": "sub_sandbox",
            "customer": "cus_sandbox",
            "status": "active",
            "metadata": {"tenant": sandbox.schema_name},
        },
        1,
        authoritative=True,
    )
    with pytest.raises(ValidationError):
        billing_services.subscription_extend_trial(operator=operator, tenant=sandbox, days=30, reason="Asked")

    # Then neither touches it: the sandbox keeps its plan, the leftover row stays as it was
    assert outcome == "unknown"
    sandbox.refresh_from_db()
    assert sandbox.plan_code == "sandbox"
    sub = Subscription.objects.get(tenant=sandbox)
    assert sub.stripe_subscription_id == "" and sub.status == SubscriptionStatus.TRIALING


def test_a_deactivated_partner_creates_no_sandbox_while_an_unlisted_active_one_does(app_partner: Any) -> None:
    # Given an active partner not approved for the directory, and one operators deactivated
    partner, pm = app_partner
    assert partner.approved_at is None and partner.is_active
    hidden = Partner.objects.create(slug="hidden-co", name="Hidden Co", is_active=False)
    hidden_pm = PartnerMember.objects.create(partner=hidden, user=make_user(name="Hidden"), role=PartnerRole.OWNER)

    # When each creates a sandbox
    create_sandbox(pm, "Listed later")
    refused = portal(hidden_pm.user).post(f"/partner-portal/{hidden.slug}/sandboxes/", {"name": "Sneaky"})

    # Then only the active partner gets one; the deactivated partner gets a form error and nothing is made
    assert refused.status_code == 400
    assert "deactivated by the platform" in refused.content.decode()
    assert not PartnerSandbox.objects.filter(partner=hidden).exists()
    assert not Tenant.objects.filter(name="Sneaky (sandbox)").exists()


def test_one_person_creates_a_limited_number_of_sandboxes_across_partners(app_partner: Any, settings: Any) -> None:
    # Given a developer who registered two partners (each allowed SANDBOX_LIMIT sandboxes)
    settings.PARTNER_SANDBOXES_PER_USER = 2
    partner, pm = app_partner
    second = Partner.objects.create(slug="maps-two", name="Maps Two")
    pm_two = PartnerMember.objects.create(partner=second, user=pm.user, role=PartnerRole.OWNER)
    colleague = PartnerMember.objects.create(partner=second, user=make_user(name="Colleague"), role=PartnerRole.OWNER)

    # When they create two sandboxes for the first partner, then one for the second
    create_sandbox(pm, "One")
    create_sandbox(pm, "Two")
    over = portal(pm.user).post(f"/partner-portal/{second.slug}/sandboxes/", {"name": "Three"})

    # Then the third is a form error that creates nothing; a colleague of the second partner still can
    assert over.status_code == 400
    assert "You have already created 2 sandboxes" in over.content.decode()
    assert not PartnerSandbox.objects.filter(partner=second, created_by=pm_two.user).exists()
    assert not Tenant.objects.filter(name="Three (sandbox)").exists()
    create_sandbox(colleague, "Colleague's")
    assert PartnerSandbox.objects.filter(partner=second).count() == 1
    assert PartnerSandbox.objects.filter(partner=partner).count() == 2


def test_a_deactivated_partners_unreviewed_version_stops_working_in_its_sandbox(
    app_partner: Any, make_app: Any
) -> None:
    # Given an unreviewed app installed in its partner's sandbox, with a working token
    partner, pm = app_partner
    app, secret = make_app(["contacts:read"], approve=False)
    sandbox = create_sandbox(pm)
    session = oauth_session(app, scope=["contacts:read"])
    url, _state = session.authorization_url(f"https://{sandbox.schema_name}.localhost/oauth/authorize/")
    response = consent(sandbox_client(sandbox, pm.user), url)
    session.fetch_token(
        f"https://{sandbox.schema_name}.localhost/oauth/token/",
        authorization_response=response["Location"],
        client_secret=secret,
    )
    api = f"https://{sandbox.schema_name}.localhost/api/v1/contacts/"
    assert session.get(api).status_code == 200

    # When operators deactivate the partner
    Partner.objects.filter(pk=partner.pk).update(is_active=False)

    # Then the sandbox takes the approved version only (there is none): the token no longer works
    assert session.get(api).status_code in (401, 403)
    connection.set_tenant(sandbox)  # type: ignore[attr-defined]
    try:
        in_force = type(app).objects.get(pk=app.pk).in_force()
    finally:
        use_public_schema()
    assert in_force.live is False and in_force.draft is False
