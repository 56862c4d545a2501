from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD
from crm_apps.access.models import Invitation, Member
from tenants.models import User, WorkspaceMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """Post the invitation form and run the on-commit email send, as a real commit would."""

    def post(client, email, is_admin=False):
        data = {"email": email}
        if is_admin:
            data["is_admin"] = "on"
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/settings/members/", data)

    return post


def invitation_path(message) -> str:
    found = re.search(r"http://alpha\.localhost:8000(/invite/\S+/)", message.body)
    assert found is not None, message.body
    return found.group(1)


def test_admin_invites_and_a_new_person_joins_with_an_account(invite, client_for, tenant_a, admin_of):
    admin_client = client_for(tenant_a, admin_of(tenant_a))

    response = invite(admin_client, "New.Hire@example.com")

    assert response.status_code == 302
    assert mail.outbox[0].to == ["new.hire@example.com"]
    assert "Alpha Ltd" in mail.outbox[0].subject
    path = invitation_path(mail.outbox[0])
    guest = Client(HTTP_HOST="alpha.localhost")
    page = guest.get(path)
    assert "Create account and join" in page.content.decode()
    joined = guest.post(path, {"name": "New Hire", "password": "fresh-start-2026"})
    assert joined["Location"] == "/"
    assert guest.get("/").status_code == 200
    with schema_context("alpha"):
        m = Member.objects.get(user__email="new.hire@example.com")
        assert (m.active, m.is_admin) == (True, False)
        assert Invitation.objects.get(email="new.hire@example.com").accepted_by == m
    assert WorkspaceMembership.objects.filter(user=m.user, tenant=tenant_a, is_active=True).exists()
    assert guest.get(path).status_code == 404  # used once


def test_existing_user_of_another_tenant_joins_with_their_password(
    invite, client_for, tenant_a, tenant_b, admin_of, member
):
    bea = member(tenant_b, email="bea@example.com")
    invite(client_for(tenant_a, admin_of(tenant_a)), "bea@example.com", is_admin=True)
    path = invitation_path(mail.outbox[0])
    guest = Client(HTTP_HOST="alpha.localhost")

    page = guest.get(path)
    wrong = guest.post(path, {"password": "not-her-password"})
    accepted = guest.post(path, {"password": TEST_PASSWORD})

    assert "Enter its password to join" in page.content.decode()
    assert wrong.status_code == 200
    assert wrong.context["form"].errors == {"password": ["Wrong password for bea@example.com."]}
    assert accepted["Location"] == "/"
    assert guest.get("/").status_code == 200
    with schema_context("alpha"):
        assert Member.objects.get(user=bea.user).is_admin is True
    assert User.objects.filter(email="bea@example.com").count() == 1


def test_another_members_password_does_not_accept_an_invitation(invite, client_for, tenant_a, admin_of, member):
    other = member(tenant_a, email="other@example.com")
    invite(client_for(tenant_a, admin_of(tenant_a)), "invitee@example.com")
    path = invitation_path(mail.outbox[0])
    User.objects.create_user("invitee@example.com", "invitee-own-secret-1", name="Invitee")

    response = client_for(tenant_a, other).post(path, {"password": TEST_PASSWORD})

    assert response.context["form"].errors == {"password": ["Wrong password for invitee@example.com."]}
    with schema_context("alpha"):
        assert Invitation.objects.get(email="invitee@example.com").accepted_at is None


def test_new_account_form_errors_change_nothing(invite, client_for, tenant_a, admin_of):
    invite(client_for(tenant_a, admin_of(tenant_a)), "weak@example.com")
    path = invitation_path(mail.outbox[0])

    response = Client(HTTP_HOST="alpha.localhost").post(path, {"name": "", "password": "123"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "password"}
    assert not User.objects.filter(email="weak@example.com").exists()


def test_invitation_link_of_tenant_a_is_useless_on_tenant_b(invite, client_for, tenant_a, tenant_b, admin_of):
    invite(client_for(tenant_a, admin_of(tenant_a)), "someone@example.com")
    path = invitation_path(mail.outbox[0])

    response = Client(HTTP_HOST="beta.localhost").get(path)

    assert response.status_code == 404


def test_non_admin_cannot_manage_members(invite, client_for, tenant_a, member):
    m = member(tenant_a)
    client = client_for(tenant_a, m)

    assert client.get("/settings/members/").status_code == 403
    assert invite(client, "x@example.com").status_code == 403
    with schema_context("alpha"):
        assert not Invitation.objects.exists()


def test_admin_deactivates_and_reactivates_a_member(client_for, tenant_a, admin_of, member):
    m = member(tenant_a)
    client = client_for(tenant_a, admin_of(tenant_a))

    client.post(f"/settings/members/{m.pk}/deactivate/")
    with schema_context("alpha"):
        assert Member.objects.get(pk=m.pk).active is False
    assert WorkspaceMembership.objects.get(user=m.user, tenant=tenant_a).is_active is False

    client.post(f"/settings/members/{m.pk}/reactivate/")
    with schema_context("alpha"):
        assert Member.objects.get(pk=m.pk).active is True


def test_last_admin_cannot_be_deactivated_or_demoted(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    other_admin = member(tenant_a, is_admin=True)
    client = client_for(tenant_a, other_admin)
    client.post(f"/settings/members/{admin.pk}/deactivate/")

    response = client_for(tenant_a, admin).post(f"/settings/members/{other_admin.pk}/remove-admin/", follow=True)
    self_demote = client.post(f"/settings/members/{other_admin.pk}/remove-admin/", follow=True)

    assert response.status_code == 200  # admin was deactivated: redirected to login, nothing changed
    assert "The last active administrator must stay an administrator." in self_demote.content.decode()
    with schema_context("alpha"):
        assert Member.objects.get(pk=other_admin.pk).is_admin is True


def test_member_ids_of_another_tenant_are_404(client_for, tenant_a, tenant_b, admin_of, member):
    b_member = member(tenant_b)
    a_admin_client = client_for(tenant_a, admin_of(tenant_a))
    with schema_context("alpha"):
        missing_id = (Member.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000

    response = a_admin_client.post(f"/settings/members/{missing_id}/deactivate/")

    assert response.status_code == 404
    with schema_context("beta"):
        assert Member.objects.get(pk=b_member.pk).active is True


def test_api_tokens_page_creates_shows_once_and_revokes(client_for, tenant_a, member):
    from crm_apps.access.models import ApiToken

    m = member(tenant_a)
    client = client_for(tenant_a, m)

    created = client.post("/settings/api-tokens/", {"name": "Zapier"})
    key = created.context["new_key"]
    listed = client.get("/settings/api-tokens/")
    with schema_context("alpha"):
        token = ApiToken.objects.get(member=m)
    client.post(f"/settings/api-tokens/{token.pk}/revoke/")

    assert key in created.content.decode()
    assert key not in listed.content.decode()
    assert "Zapier" in listed.content.decode()
    with schema_context("alpha"):
        assert not ApiToken.objects.filter(member=m).exists()


def test_htmx_member_action_returns_only_the_updated_row(client_for, tenant_a, admin_of, member):
    m = member(tenant_a)
    client = client_for(tenant_a, admin_of(tenant_a))

    response = client.post(f"/settings/members/{m.pk}/deactivate/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith(f'<tr id="member-{m.pk}">')
    assert "<html" not in html
    assert "Deactivated" in html
    assert "can no longer sign in here." in html


def test_htmx_member_action_errors_are_shown_in_the_row(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)  # the only administrator of alpha

    response = client_for(tenant_a, admin).post(f"/settings/members/{admin.pk}/remove-admin/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="row-message row-message--error"' in html
    assert "The last active administrator must stay an administrator." in html
    with schema_context("alpha"):
        assert Member.objects.get(pk=admin.pk).is_admin is True


def test_unknown_member_action_is_404(client_for, tenant_a, admin_of, member):
    m = member(tenant_a)

    response = client_for(tenant_a, admin_of(tenant_a)).post(f"/settings/members/{m.pk}/explode/")

    assert response.status_code == 404


def test_reactivated_member_must_sign_in_again(client_for, tenant_a, admin_of, member):
    m = member(tenant_a)
    old_session = client_for(tenant_a, m)
    admin_client = client_for(tenant_a, admin_of(tenant_a))

    admin_client.post(f"/settings/members/{m.pk}/deactivate/")
    admin_client.post(f"/settings/members/{m.pk}/reactivate/")

    assert old_session.get("/")["Location"].startswith("/accounts/login/")
