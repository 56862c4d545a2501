from __future__ import annotations

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("email", ["nobody@example.com", "admin@alpha.example.com"])
def test_page_says_the_same_whether_or_not_the_address_exists(
    public_client, tenant_a, email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/find-workspaces/", {"email": email})

    body = response.content.decode()
    assert response.status_code == 200
    assert f"If {email} belongs to any workspaces" in body
    assert len(mail.outbox) == (1 if email.startswith("admin@") else 0)


def test_suspended_and_deactivated_workspaces_are_not_listed(
    public_client, tenant_a, tenant_b, member, django_capture_on_commit_callbacks
):
    from django_tenants.utils import tenant_context

    from crm_apps.access.services import member_deactivate
    from tenants.models import TenantStatus
    from tenants.services import tenant_set_status

    m = member(tenant_a, email="roamer@example.com")
    member(tenant_b, email="roamer@example.com")
    with tenant_context(tenant_a):
        from crm_apps.access.models import Member

        admin = Member.objects.filter(is_admin=True).first()
        assert admin is not None
        member_deactivate(actor=admin, member=m)
    tenant_set_status(tenant=tenant_b, status=TenantStatus.SUSPENDED)

    with django_capture_on_commit_callbacks(execute=True):
        public_client.post("/find-workspaces/", {"email": "roamer@example.com"})

    assert mail.outbox == []


def test_requests_are_rate_limited_per_address(public_client, tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(8):
            public_client.post("/find-workspaces/", {"email": "admin@alpha.example.com"})

    assert len(mail.outbox) == 5


def test_invalid_email_is_a_form_error(public_client):
    response = public_client.post("/find-workspaces/", {"email": "not-an-email"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["Enter a valid email address."]}


def test_workspace_login_redirects_to_the_tenant_sign_in(public_client, tenant_a):
    found = public_client.post("/login/", {"subdomain": "Alpha"})
    missing = public_client.post("/login/", {"subdomain": "nope"})

    assert found["Location"] == "http://alpha.localhost:8000/accounts/login/"
    assert missing.context["form"].errors == {"subdomain": ["There is no workspace at this address."]}
