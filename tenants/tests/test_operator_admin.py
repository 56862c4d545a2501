from __future__ import annotations

import pytest
from django.test import Client

from conftest import TEST_PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    user = make_user("operator@platform.example")
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


def test_staff_sees_tenants_with_member_counts(operator, tenant_a, member):
    member(tenant_a)
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)

    page = client.get("/admin/tenants/tenant/")

    assert page.status_code == 200
    rows = {t.schema_name: t.member_count for t in page.context["cl"].result_list}
    assert rows["alpha"] == 2
    assert rows["beta"] == 1


def test_staff_can_suspend_a_tenant_from_the_admin(operator, tenant_a):
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)

    response = client.post(
        f"/admin/tenants/tenant/{tenant_a.pk}/change/",
        {
            "name": "Alpha Ltd",
            "status": "suspended",
            "plan_code": "",
            "domains-TOTAL_FORMS": "0",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert tenant_a.status == "suspended"


def test_non_staff_users_cannot_use_the_admin(tenant_a, admin_of):
    client = Client(HTTP_HOST="localhost")
    login = client.post("/admin/login/", {"username": admin_of(tenant_a).user.email, "password": TEST_PASSWORD})

    assert login.status_code == 200  # the admin login form refuses non-staff
    assert client.get("/admin/tenants/tenant/").status_code == 302


def test_admin_does_not_exist_on_tenant_hosts(operator, tenant_a):
    client = Client(HTTP_HOST="alpha.localhost")
    client.force_login(operator)

    assert client.get("/admin/").status_code == 404


def test_admin_pages_for_users_and_domains_render(operator, tenant_a):
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)

    assert client.get("/admin/tenants/user/").status_code == 200
    assert client.get(f"/admin/tenants/user/{operator.pk}/change/").status_code == 200
    assert client.get("/admin/tenants/domain/").status_code == 200


def test_admin_login_is_throttled(operator):
    client = Client(HTTP_HOST="localhost", REMOTE_ADDR="10.4.4.4")
    for _ in range(10):
        client.post("/admin/login/", {"username": operator.email, "password": "wrong-password"})

    response = client.post("/admin/login/", {"username": operator.email, "password": TEST_PASSWORD})

    assert response.status_code == 429


def test_the_tenant_form_cannot_change_the_plan_code_behind_the_subscription(operator, tenant_a):
    # Given a tenant whose plan code follows its subscription (it decides the plan's limits)
    tenant_a.refresh_from_db()
    plan_code = tenant_a.plan_code
    assert plan_code
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)

    # When an operator saves the tenant form with another (or no) plan code
    response = client.post(
        f"/admin/tenants/tenant/{tenant_a.pk}/change/",
        {
            "name": "Alpha Ltd",
            "status": "active",
            "plan_code": "no-such-plan",
            "domains-TOTAL_FORMS": "0",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
        },
    )

    # Then the tenant is saved but keeps the plan of its subscription (changed only in the billing console)
    assert response.status_code == 302
    tenant_a.refresh_from_db()
    assert (tenant_a.name, tenant_a.plan_code) == ("Alpha Ltd", plan_code)
