"""Delegated access: a tenant admin grants a partner a role; its team become (marked) members of that
tenant only; revoking ends their access at once; everything is audited; cross-tenant checks."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from crm_apps.access.models import Member, Role
from crm_apps.audit.models import AuditEvent
from marketplace.partners.models import PartnerAccess, PartnerMember
from tenants.models import WorkspaceMembership


def a_role(tenant) -> Role:
    with schema_context(tenant.schema_name):
        return Role.objects.filter(parent__isnull=False).order_by("path")[0]


@pytest.fixture
def partner_team(make_partner, team_member):
    partner = make_partner(name="Helpful Partners")
    partner.dev_user = team_member(partner, "developer")
    return partner


def grant(client_for, tenant, admin, partner, role):
    return client_for(tenant, admin).post("/settings/partners/", {"partner": partner.slug, "role": str(role.pk)})


def test_grant_makes_partner_team_members_of_that_tenant_only(partner_team, tenant_a, tenant_b, admin_of, client_for):
    role = a_role(tenant_a)
    response = grant(client_for, tenant_a, admin_of(tenant_a), partner_team, role)
    assert response.status_code == 302
    access = PartnerAccess.objects.get(partner=partner_team, tenant=tenant_a, revoked_at=None)
    assert access.role_name == role.name
    with schema_context("alpha"):
        members = Member.objects.filter(partner_id=partner_team.pk)
        assert {m.user_id for m in members} == {partner_team.owner_user.pk, partner_team.dev_user.pk}
        assert all(m.active and not m.is_admin and m.role_id == role.pk for m in members)
        event = AuditEvent.objects.filter(details__operation="partner_access_granted").get()
        assert event.actor_label == admin_of(tenant_a).user.email
        assert event.record_label == "Helpful Partners"
    with schema_context("beta"):
        assert not Member.objects.filter(partner_id=partner_team.pk).exists()
        assert not Member.objects.filter(user_id=partner_team.dev_user.pk).exists()
    assert WorkspaceMembership.objects.filter(user=partner_team.dev_user, tenant=tenant_a, is_active=True).exists()
    assert not WorkspaceMembership.objects.filter(user=partner_team.dev_user, tenant=tenant_b).exists()


def test_partner_user_works_in_granted_tenant_not_in_another(partner_team, tenant_a, tenant_b, admin_of, client_for):
    grant(client_for, tenant_a, admin_of(tenant_a), partner_team, a_role(tenant_a))
    with schema_context("alpha"):
        member = Member.objects.get(user_id=partner_team.dev_user.pk)
    assert client_for(tenant_a, member).get("/").status_code == 200
    # the same identity forced into a session on beta is a stranger there
    from django.test import Client

    other = Client(HTTP_HOST="beta.localhost")
    other.force_login(partner_team.dev_user, backend="tenants.auth.EmailBackend")
    response = other.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_members_page_marks_partner_members(partner_team, tenant_a, admin_of, client_for):
    grant(client_for, tenant_a, admin_of(tenant_a), partner_team, a_role(tenant_a))
    html = client_for(tenant_a, admin_of(tenant_a)).get("/settings/members/").content.decode()
    assert partner_team.dev_user.email in html
    assert "Partner member" in html


def test_revoke_ends_access_at_once_and_is_audited(partner_team, tenant_a, admin_of, client_for):
    admin = admin_of(tenant_a)
    grant(client_for, tenant_a, admin, partner_team, a_role(tenant_a))
    with schema_context("alpha"):
        member = Member.objects.get(user_id=partner_team.dev_user.pk)
    session = client_for(tenant_a, member)
    assert session.get("/").status_code == 200
    access = PartnerAccess.objects.get(partner=partner_team, tenant=tenant_a, revoked_at=None)
    response = client_for(tenant_a, admin).post(f"/settings/partners/{access.pk}/revoke/")
    assert response.status_code == 302
    access.refresh_from_db()
    assert access.revoked_at is not None and access.revoked_by == admin.user.email
    # the open session is dead at once
    denied = session.get("/")
    assert denied.status_code == 302 and "/accounts/login/" in denied["Location"]
    with schema_context("alpha"):
        assert not Member.objects.filter(partner_id=partner_team.pk, active=True).exists()
        assert AuditEvent.objects.filter(details__operation="partner_access_revoked").count() == 1
    assert not WorkspaceMembership.objects.filter(user=partner_team.dev_user, tenant=tenant_a, is_active=True).exists()


def test_non_admin_cannot_grant_or_revoke_and_nothing_changes(partner_team, tenant_a, admin_of, member, client_for):
    plain = member(tenant_a)
    role = a_role(tenant_a)
    assert grant(client_for, tenant_a, plain, partner_team, role).status_code == 403
    assert not PartnerAccess.objects.exists()
    grant(client_for, tenant_a, admin_of(tenant_a), partner_team, role)
    access = PartnerAccess.objects.get()
    assert client_for(tenant_a, plain).post(f"/settings/partners/{access.pk}/revoke/").status_code == 403
    access.refresh_from_db()
    assert access.revoked_at is None


def test_admin_of_another_tenant_cannot_revoke_this_grant(partner_team, tenant_a, tenant_b, admin_of, client_for):
    grant(client_for, tenant_a, admin_of(tenant_a), partner_team, a_role(tenant_a))
    access = PartnerAccess.objects.get()
    client_for(tenant_b, admin_of(tenant_b)).post(f"/settings/partners/{access.pk}/revoke/")
    access.refresh_from_db()
    assert access.revoked_at is None
    with schema_context("alpha"):
        assert Member.objects.filter(partner_id=partner_team.pk, active=True).count() == 2
    # and its page does not list it
    html = client_for(tenant_b, admin_of(tenant_b)).get("/settings/partners/").content.decode()
    assert partner_team.name not in html


def test_bad_grant_input_gets_field_errors(partner_team, tenant_a, admin_of, client_for):
    client = client_for(tenant_a, admin_of(tenant_a))
    with schema_context("alpha"):
        top = Role.objects.get(parent__isnull=True)
    unknown = client.post("/settings/partners/", {"partner": "no-such-partner", "role": str(a_role(tenant_a).pk)})
    assert unknown.status_code == 400
    assert "There is no listed partner with this address name." in unknown.context["form"].errors["partner"]
    top_role = client.post("/settings/partners/", {"partner": partner_team.slug, "role": str(top.pk)})
    assert top_role.status_code == 400
    assert "role" in top_role.context["form"].errors
    assert not PartnerAccess.objects.exists()


def test_own_membership_survives_revocation(partner_team, tenant_a, admin_of, client_for, member):
    own = member(tenant_a, email=partner_team.dev_user.email)
    grant(client_for, tenant_a, admin_of(tenant_a), partner_team, a_role(tenant_a))
    access = PartnerAccess.objects.get()
    client_for(tenant_a, admin_of(tenant_a)).post(f"/settings/partners/{access.pk}/revoke/")
    with schema_context("alpha"):
        kept = Member.objects.get(pk=own.pk)
        assert kept.active and kept.partner_id is None


def test_team_changes_follow_into_granted_tenants(
    partner_team, tenant_a, admin_of, client_for, team_member, portal_client
):
    grant(client_for, tenant_a, admin_of(tenant_a), partner_team, a_role(tenant_a))
    # the owner removes the developer from the team: the delegated membership ends
    dev_pm = PartnerMember.objects.get(partner=partner_team, user=partner_team.dev_user)
    removed = portal_client(partner_team.owner_user).post(
        f"/partner-portal/{partner_team.slug}/team/{dev_pm.pk}/remove/", follow=True
    )
    assert "Removed from the team." in removed.content.decode(), (
        removed.redirect_chain,
        removed.content.decode()[1500:4000],
    )
    with schema_context("alpha"):
        assert not Member.objects.get(user_id=partner_team.dev_user.pk).active
        assert AuditEvent.objects.filter(details__operation="partner_member_left").count() == 1


def test_portal_lists_granting_workspaces_and_opens_them(
    partner_team, make_partner, tenant_a, admin_of, client_for, portal_client
):
    grant(client_for, tenant_a, admin_of(tenant_a), partner_team, a_role(tenant_a))
    access = PartnerAccess.objects.get()
    portal = portal_client(partner_team.dev_user)
    html = portal.get(f"/partner-portal/{partner_team.slug}/workspaces/").content.decode()
    assert "Alpha Ltd" in html and "Beta GmbH" not in html
    opened = portal.post(f"/partner-portal/{partner_team.slug}/workspaces/{access.pk}/open/")
    assert opened.status_code == 302
    assert opened["Location"].startswith("http://alpha.localhost") and "/auth/handover/" in opened["Location"]
    # following the hand-over signs the partner user in on alpha
    from django.test import Client

    tenant_client = Client(HTTP_HOST="alpha.localhost")
    landed = tenant_client.get(opened["Location"].split("alpha.localhost", 1)[1].lstrip(":0123456789"))
    assert landed.status_code == 302 and landed["Location"] == "/"
    assert tenant_client.get("/").status_code == 200
    # another partner's owner cannot open this grant through its own portal
    other = make_partner()
    assert (
        portal_client(other.owner_user).post(f"/partner-portal/{other.slug}/workspaces/{access.pk}/open/").status_code
        == 404
    )


def test_someone_joining_the_team_later_joins_granting_workspaces(
    partner_team, tenant_a, tenant_b, admin_of, client_for
):
    from conftest import make_user
    from marketplace.partners.services import partner_invitation_accept, partner_invitation_create

    grant(client_for, tenant_a, admin_of(tenant_a), partner_team, a_role(tenant_a))
    owner_pm = PartnerMember.objects.get(partner=partner_team, user=partner_team.owner_user)
    _invitation, key = partner_invitation_create(
        actor=owner_pm, partner=partner_team, email="late@example.com", role="sales"
    )
    late = make_user("late@example.com")
    partner_invitation_accept(key=key, user=late)
    with schema_context("alpha"):
        joined = Member.objects.get(user_id=late.pk)
        assert joined.active and joined.partner_id == partner_team.pk
        assert AuditEvent.objects.filter(details__operation="partner_member_joined").count() == 1
    with schema_context("beta"):
        assert not Member.objects.filter(user_id=late.pk).exists()
