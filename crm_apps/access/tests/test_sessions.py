"""Members see and end their sessions; idle sessions end; a password change ends the others (issue 26)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD
from crm_apps.access.models import MemberSession
from crm_apps.access.sessions import SEEN_KEY, device_label
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
PHONE = "Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0 Mobile Safari/537.36"


def signed_in(client_for, tenant, email, agent=FIREFOX, ip="203.0.113.7"):
    client = client_for(tenant, HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    assert client.post("/accounts/login/", {"username": email, "password": TEST_PASSWORD}).status_code == 302
    return client


def rows(tenant, **filters):
    with schema_context(tenant.schema_name):
        return list(MemberSession.objects.filter(**filters).order_by("pk"))


def is_signed_in(client) -> bool:
    return client.get("/settings/profile/").status_code == 200


def test_signing_in_records_the_session_and_the_profile_lists_it(client_for, tenant_a, member):
    kim = member(tenant_a, email="kim@example.com")
    laptop = signed_in(client_for, tenant_a, "kim@example.com")
    signed_in(client_for, tenant_a, "kim@example.com", agent=PHONE, ip="198.51.100.4")

    recorded = rows(tenant_a, member=kim)
    assert [(r.ip, device_label(r.user_agent)) for r in recorded] == [
        ("203.0.113.7", "Firefox · Linux"),
        ("198.51.100.4", "Chrome · Android"),
    ]
    page = laptop.get("/settings/profile/").content.decode()
    assert "Where you are signed in" in page
    assert "Chrome · Android" in page and "198.51.100.4" in page
    assert page.count("This browser") == 1


def test_a_member_ends_another_of_their_sessions_and_only_their_own(client_for, tenant_a, tenant_b, member):
    kim = member(tenant_a, email="kim@example.com")
    member(tenant_a, email="lee@example.com")
    member(tenant_b, email="kim@example.com")
    laptop = signed_in(client_for, tenant_a, "kim@example.com")
    phone = signed_in(client_for, tenant_a, "kim@example.com", agent=PHONE)
    lee = signed_in(client_for, tenant_a, "lee@example.com")
    other_tenant = signed_in(client_for, tenant_b, "kim@example.com")
    phone_row = rows(tenant_a, member=kim)[1]

    # Nobody else ends it: another member of the workspace, or the same person on another workspace.
    assert lee.post(f"/settings/profile/sessions/{phone_row.pk}/end/").status_code == 404
    assert other_tenant.post(f"/settings/profile/sessions/{phone_row.pk}/end/").status_code == 404
    assert is_signed_in(phone)
    # The current session is ended by signing out, not from this list.
    current = rows(tenant_a, member=kim)[0]
    assert laptop.post(f"/settings/profile/sessions/{current.pk}/end/").status_code == 404

    response = laptop.post(f"/settings/profile/sessions/{phone_row.pk}/end/")

    assert response.status_code == 302 and response["Location"].endswith("#sessions")
    assert not is_signed_in(phone)
    assert is_signed_in(laptop) and is_signed_in(lee) and is_signed_in(other_tenant)
    assert [r.pk for r in rows(tenant_a, member=kim)] == [current.pk]


def test_sign_out_everywhere_else_keeps_this_browser(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    laptop = signed_in(client_for, tenant_a, "kim@example.com")
    others = [signed_in(client_for, tenant_a, "kim@example.com", agent=PHONE) for _ in range(2)]

    page = laptop.post("/settings/profile/sessions/end-others/", follow=True).content.decode()

    assert "2 other sessions were signed out." in page
    assert is_signed_in(laptop)
    assert not any(is_signed_in(c) for c in others)
    assert len(rows(tenant_a)) == 1


def test_a_password_change_ends_the_other_sessions(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    laptop = signed_in(client_for, tenant_a, "kim@example.com")
    phone = signed_in(client_for, tenant_a, "kim@example.com", agent=PHONE)
    new = "a-brand-new-pass-2026"

    response = laptop.post(
        "/accounts/password/", {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new}
    )

    assert response.status_code == 302
    assert is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert len(rows(tenant_a)) == 1


def test_an_idle_session_ends_after_the_workspace_limit(client_for, tenant_a, member, admin_of):
    member(tenant_a, email="kim@example.com")
    admin = client_for(tenant_a, admin_of(tenant_a))
    assert admin.post("/settings/access/security/", {"session_idle_minutes": "30"}).status_code == 302
    assert Tenant.objects.get(pk=tenant_a.pk).session_idle_minutes == 30
    kim = signed_in(client_for, tenant_a, "kim@example.com")
    assert is_signed_in(kim)

    session = kim.session
    session[SEEN_KEY] = int(time.time()) - 29 * 60  # active 29 minutes ago: still signed in, touched again
    session.save()
    assert is_signed_in(kim)
    assert kim.session[SEEN_KEY] > time.time() - 60

    session = kim.session
    session[SEEN_KEY] = int(time.time()) - 31 * 60
    session.save()
    response = kim.get("/settings/profile/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not rows(tenant_a, member__user__email="kim@example.com")


def test_a_request_within_the_minute_writes_nothing(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    kim = signed_in(client_for, tenant_a, "kim@example.com")
    kim.get("/settings/profile/")
    with CaptureQueriesContext(connection) as captured:
        kim.get("/settings/profile/")
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    assert writes == []


def test_security_settings_are_for_admins_and_bad_values_change_nothing(client_for, tenant_a, member, admin_of):
    admin = client_for(tenant_a, admin_of(tenant_a))
    plain = client_for(tenant_a, member(tenant_a))

    assert plain.get("/settings/access/security/").status_code == 403
    for bad in ("-1", "99999999", "soon"):
        page = admin.post("/settings/access/security/", {"session_idle_minutes": bad})
        assert page.status_code == 200 and page.context["form"].errors["session_idle_minutes"]
    assert Tenant.objects.get(pk=tenant_a.pk).session_idle_minutes == 0


def test_signing_out_forgets_the_session(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    kim = signed_in(client_for, tenant_a, "kim@example.com")
    assert len(rows(tenant_a)) == 1
    kim.post("/accounts/logout/")
    assert rows(tenant_a) == []


def test_a_signed_in_page_reads_its_session_member_and_user_in_one_statement(client_for, tenant_a, member):
    """The session row, the member it was recorded for and the member's user: one statement (issue 25); Django's
    get_user takes that user row, and the session is still verified against it (a password change ends other
    sessions, above)."""
    member(tenant_a, email="kim@example.com")
    kim = signed_in(client_for, tenant_a, "kim@example.com")
    kim.get("/settings/profile/")
    with CaptureQueriesContext(connection) as captured:
        assert kim.get("/settings/profile/").status_code == 200
    sql = [q["sql"] for q in captured.captured_queries]
    assert not [s for s in sql if s.startswith('SELECT "tenants_user"."id"')], sql
    assert not [s for s in sql if s.startswith('SELECT "django_session"')], sql
    assert not [s for s in sql if 'FROM "access_member" INNER JOIN "tenants_user"' in s], sql
    read = [s for s in sql if 'FROM "access_membersession" INNER JOIN "access_member"' in s]
    assert len(read) == 1 and '"django_session"' in read[0] and 'INNER JOIN "tenants_user"' in read[0], sql


def test_a_session_without_its_member_row_is_read_alone_and_still_signs_in(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    kim = signed_in(client_for, tenant_a, "kim@example.com")
    with schema_context(tenant_a.schema_name):
        MemberSession.objects.all().delete()
    with CaptureQueriesContext(connection) as captured:
        assert is_signed_in(kim)
    sql = [q["sql"] for q in captured.captured_queries]
    assert [s for s in sql if s.startswith('SELECT "django_session"')], sql
    assert [s for s in sql if 'FROM "access_member" INNER JOIN "tenants_user"' in s], sql


def test_the_member_read_with_the_session_is_taken_only_when_active_and_the_session_users(client_for, tenant_a, member):
    from crm_apps.access.models import Member
    from tenants.models import User

    kim = member(tenant_a, email="kim@example.com")
    lee = member(tenant_a, email="lee@example.com")
    web = signed_in(client_for, tenant_a, "kim@example.com")
    assert web.get("/settings/profile/").context["request"].member.pk == kim.pk

    # a member row pointing at someone else (never written so, but never trusted either): the session's user wins
    with schema_context(tenant_a.schema_name):
        MemberSession.objects.update(member=lee)
    assert web.get("/settings/profile/").context["request"].member.pk == kim.pk
    with schema_context(tenant_a.schema_name):
        MemberSession.objects.update(member=kim)

    # an inactive member, or member whose user is inactive, is nobody here
    with schema_context(tenant_a.schema_name):
        Member.objects.filter(pk=kim.pk).update(active=False)
    assert not is_signed_in(web)
    with schema_context(tenant_a.schema_name):
        Member.objects.filter(pk=kim.pk).update(active=True)
    web = signed_in(client_for, tenant_a, "kim@example.com")
    assert is_signed_in(web)
    User.objects.filter(pk=kim.user_id).update(is_active=False)
    assert not is_signed_in(web)


def test_a_session_gone_or_expired_beside_its_member_row_signs_nobody_in(client_for, tenant_a, tenant_b, member):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from crm_apps.access.session_store import SessionStore

    member(tenant_a, email="kim@example.com")
    member(tenant_a, email="lee@example.com")
    kim = signed_in(client_for, tenant_a, "kim@example.com")
    lee = signed_in(client_for, tenant_a, "lee@example.com")
    kim_key, lee_key = kim.cookies["sessionid"].value, lee.cookies["sessionid"].value
    with schema_context(tenant_a.schema_name):
        store = SessionStore(session_key=kim_key)
        assert store.load()["_auth_user_id"] and store.recorded_member is not None
        Session.objects.filter(session_key=kim_key).update(expire_date=timezone.now() - timedelta(seconds=1))
        Session.objects.filter(session_key=lee_key).delete()
        for key in (kim_key, lee_key):
            store = SessionStore(session_key=key)
            assert store.load() == {} and store.session_key is None and store.recorded_member is None
    # another workspace has neither the session nor its member row
    with schema_context(tenant_b.schema_name):
        elsewhere = SessionStore(session_key=kim_key)
        assert elsewhere.load() == {} and elsewhere.session_key is None
    assert not is_signed_in(kim) and not is_signed_in(lee)
