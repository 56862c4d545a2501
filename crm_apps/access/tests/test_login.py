from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD
from tenants.models import User

pytestmark = pytest.mark.django_db


def login(client, email, password=TEST_PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_member_logs_in_with_case_insensitive_email_and_out_again(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a)

    response = login(client, "Kim@Example.COM")
    home = client.get("/")
    logout = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert home.status_code == 200
    assert logout.status_code == 302
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_non_member_cannot_log_in(client_for, tenant_a, tenant_b, member):
    member(tenant_b, email="bea@example.com")

    response = login(client_for(tenant_a), "bea@example.com")

    assert response.status_code == 200
    assert "Wrong email or password, or you have no access to this workspace." in response.content.decode()


def test_deactivated_member_cannot_log_in_and_loses_open_sessions(client_for, tenant_a, member, admin_of):
    from crm_apps.access.services import member_deactivate

    m = member(tenant_a, email="kim@example.com")
    open_session = client_for(tenant_a, m)
    assert open_session.get("/").status_code == 200
    with schema_context("alpha"):
        member_deactivate(actor=admin_of(tenant_a), member=m)

    assert open_session.get("/")["Location"].startswith("/accounts/login/")
    assert login(client_for(tenant_a), "kim@example.com").status_code == 200


def test_repeated_failures_are_throttled(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a, REMOTE_ADDR="10.9.8.7")
    for _ in range(10):
        login(client, "kim@example.com", "wrong-password-x")

    response = login(client, "kim@example.com")

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_login_throttle_counters_are_per_tenant(client_for, tenant_a, tenant_b, member):
    member(tenant_b, email="bea@example.com")
    attacker = client_for(tenant_a, REMOTE_ADDR="10.9.8.6")
    for _ in range(10):
        login(attacker, "bea@example.com", "wrong-password-x")

    response = login(client_for(tenant_b, REMOTE_ADDR="10.9.8.6"), "bea@example.com")

    assert response.status_code == 302


def test_password_reset_for_a_member_sends_a_working_link(
    client_for, tenant_a, member, django_capture_on_commit_callbacks
):
    member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password-reset/", {"email": "KIM@example.com"})

    assert response["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["kim@example.com"]
    link = re.search(r"http://alpha\.localhost:8000(/accounts/reset/\S+/)", str(mail.outbox[0].body))
    assert link is not None
    form_page = client.get(link.group(1), follow=True)
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "brand-new-secret-42", "new_password2": "brand-new-secret-42"})
    assert done.status_code == 302
    assert User.objects.get(email="kim@example.com").check_password("brand-new-secret-42")


@pytest.mark.parametrize("email", ["nobody@example.com", "bea@example.com"])
def test_password_reset_page_never_reveals_who_exists(
    client_for, tenant_a, tenant_b, member, email, django_capture_on_commit_callbacks
):
    member(tenant_b, email="bea@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(tenant_a).post("/accounts/password-reset/", {"email": email})

    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_member_language_is_used_for_their_pages(client_for, tenant_a, member):
    from crm_apps.access.models import Member

    m = member(tenant_a)
    with schema_context("alpha"):
        Member.objects.filter(pk=m.pk).update(language="ru")

    response = client_for(tenant_a, m).get("/")

    assert response["Content-Language"] == "ru"
    assert '<html lang="ru">' in response.content.decode()


def test_profile_update_changes_name_language_and_timezone(client_for, tenant_a, member):
    from crm_apps.access.models import Member

    m = member(tenant_a)
    client = client_for(tenant_a, m)

    response = client.post("/settings/profile/", {"name": "Kim Park", "language": "ru", "timezone": "Asia/Seoul"})

    assert response.status_code == 302
    with schema_context("alpha"):
        saved = Member.objects.select_related("user").get(pk=m.pk)
    assert (saved.user.name, saved.language, saved.timezone) == ("Kim Park", "ru", "Asia/Seoul")


def test_profile_rejects_bad_values_and_changes_nothing(client_for, tenant_a, member):
    from crm_apps.access.models import Member

    m = member(tenant_a)

    response = client_for(tenant_a, m).post(
        "/settings/profile/", {"name": "x" * 500, "language": "xx", "timezone": "Mars/Olympus"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"name", "language", "timezone"}
    with schema_context("alpha"):
        saved = Member.objects.select_related("user").get(pk=m.pk)
    assert (saved.user.name, saved.language, saved.timezone) == ("Test Person", "en", "UTC")


def test_anonymous_language_follows_the_browser(public_client):
    response = public_client.get("/", HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9")

    assert response["Content-Language"] == "ru"


def test_public_language_switch_sets_a_cookie(public_client):
    response = public_client.post("/i18n/setlang/", {"language": "ru", "next": "/"})

    assert response.cookies["crm_language"].value == "ru"
    assert Client(HTTP_HOST="localhost", HTTP_COOKIE="crm_language=ru").get("/")["Content-Language"] == "ru"


def test_throttle_ignores_a_spoofed_forwarded_for_header(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    for n in range(10):
        spoofed = client_for(tenant_a, REMOTE_ADDR="10.9.8.5", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}")
        login(spoofed, "x@example.com", "bad")

    again = client_for(tenant_a, REMOTE_ADDR="10.9.8.5", HTTP_X_FORWARDED_FOR="9.9.9.9")

    assert login(again, "kim@example.com").status_code == 429


def test_behind_the_proxy_the_forwarded_address_is_the_client(client_for, tenant_a, member, settings):
    settings.USE_X_FORWARDED_HOST = True
    member(tenant_a, email="kim@example.com")
    for _ in range(10):
        attacker = client_for(tenant_a, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
        login(attacker, "x@example.com", "bad")

    colleague = client_for(tenant_a, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.8")

    assert login(colleague, "kim@example.com").status_code == 302


def test_a_broker_outage_never_fails_a_request(
    client_for, tenant_a, admin_of, monkeypatch, django_capture_on_commit_callbacks
):
    from tenants import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.mail_send_task, "delay", broker_down)
    client = client_for(tenant_a, admin_of(tenant_a))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/members/", {"email": "someone@example.com"})

    assert response.status_code == 302
