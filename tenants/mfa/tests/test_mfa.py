"""MFA: TOTP (time controlled), recovery codes, remembered devices, the workspace requirement, operators,
partners, the token endpoint and tenant isolation (docs/mfa.md)."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.audit.models import AuditEvent
from tenants.mfa import services
from tenants.mfa.models import RecoveryCode, RememberedDevice, TotpDevice

pytestmark = pytest.mark.django_db

FIXED = 1_700_000_000.0  # a fixed moment (in the past) for TOTP arithmetic


def totp_on(user, *, at=None):
    """Enrol an authenticator app for `user` (service level); returns (device, recovery codes)."""
    device = services.totp_begin(user=user)
    when = at or time.time() - 60  # two steps ago: the current code is still unused
    codes = services.totp_confirm(user=user, code=pyotp.TOTP(device.secret).at(when), at=when)
    device.refresh_from_db()
    return device, codes


def now_code(device, offset=0):
    return pyotp.TOTP(device.secret).at(time.time() + offset)


def pass_factor(client, member):
    """Mark a test client's session (signed in by client_for) as having passed its second factor."""
    with schema_context("alpha"):  # every such test signs in on tenant A
        session = client.session
        session["mfa_need"] = "none"
        session["mfa_need_user"] = member.user.pk
        session.save()


def login(client, email, password=TEST_PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


# --- TOTP and recovery codes (services) ---------------------------------------------------------


def test_totp_code_accepted_once_then_replay_refused():
    user = make_user()
    device = services.totp_begin(user=user)
    code = pyotp.TOTP(device.secret).at(FIXED)

    services.totp_confirm(user=user, code=code, at=FIXED)
    device.refresh_from_db()

    assert device.confirmed_at is not None
    assert services.totp_check(device=device, code=code, at=FIXED) is False  # the confirming code is spent
    later = pyotp.TOTP(device.secret).at(FIXED + 30)
    assert services.totp_check(device=device, code=later, at=FIXED + 30) is True
    assert services.totp_check(device=device, code=later, at=FIXED + 30) is False  # replay
    older = pyotp.TOTP(device.secret).at(FIXED)
    assert services.totp_check(device=device, code=older, at=FIXED + 60) is False  # an earlier step


def test_totp_tolerates_one_step_of_drift_only():
    user = make_user()
    device, _codes = totp_on(user, at=FIXED)
    totp = pyotp.TOTP(device.secret)

    assert services.totp_check(device=device, code=totp.at(FIXED + 90), at=FIXED + 120) is True  # one step behind
    assert services.totp_check(device=device, code=totp.at(FIXED + 300), at=FIXED + 400) is False  # far off


def test_totp_confirm_with_a_wrong_code_keeps_it_off():
    user = make_user()
    services.totp_begin(user=user)

    with pytest.raises(Exception) as error:
        services.totp_confirm(user=user, code="000000", at=FIXED)

    assert "code" in error.value.message_dict  # type: ignore[attr-defined]
    assert not services.user_has_factor(user)


def test_recovery_codes_are_ten_hashed_single_use_and_regenerable():
    user = make_user()
    _device, codes = totp_on(user)

    assert len(codes) == 10 and len(set(codes)) == 10
    stored = list(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert all(code not in stored and code.replace("-", "") not in stored for code in codes)
    assert services.code_verify(user=user, code=codes[0].upper()) == "recovery"
    assert services.code_verify(user=user, code=codes[0]) is None  # single use
    new = services.recovery_codes_generate(user=user)
    assert services.code_verify(user=user, code=codes[1]) is None  # the old set is gone
    assert services.code_verify(user=user, code=new[1]) == "recovery"


def test_removing_the_last_factor_drops_codes_and_remembered_devices(member, tenant_a):
    user = make_user()
    totp_on(user)
    services.remember_issue(user=user, scope="alpha", label="x")

    services.totp_remove(user=user)

    assert not RecoveryCode.objects.filter(user=user).exists()
    assert services.remembered_devices(user=user) == []


# --- member sign-in ------------------------------------------------------------------------------


def test_member_with_totp_must_pass_the_challenge(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    device, _codes = totp_on(m.user, at=FIXED)
    client = client_for(tenant_a)

    login(client, "kim@example.com")
    held = client.get("/settings/profile/")
    api = client.get("/api/v1/me")

    assert held.status_code == 302
    assert held["Location"].startswith("/mfa/verify/?next=")
    assert api.status_code == 403
    wrong = client.post("/mfa/verify/", {"code": "123456", "next": "/settings/profile/"})
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()
    right = client.post("/mfa/verify/", {"code": now_code(device), "next": "/settings/profile/"})
    assert right["Location"] == "/settings/profile/"
    assert client.get("/settings/profile/").status_code == 200
    with schema_context("alpha"):
        actions = list(AuditEvent.objects.filter(actor_id=m.pk).values_list("action", flat=True))
    assert "mfa_failed" in actions and "mfa_verified" in actions


def test_recovery_code_passes_the_challenge_once(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    _device, codes = totp_on(m.user)
    client = client_for(tenant_a)
    login(client, "kim@example.com")

    assert client.post("/mfa/verify/", {"code": codes[3]})["Location"] == "/"
    client.post("/accounts/logout/")
    login(client, "kim@example.com")
    again = client.post("/mfa/verify/", {"code": codes[3]})
    assert again.status_code == 200
    assert client.get("/settings/profile/").status_code == 302


def test_wrong_codes_are_throttled_like_passwords(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    device, _codes = totp_on(m.user)
    client = client_for(tenant_a, REMOTE_ADDR="10.1.2.3")
    login(client, "kim@example.com")
    for _i in range(10):
        client.post("/mfa/verify/", {"code": "000000"})

    blocked = client.post("/mfa/verify/", {"code": now_code(device)})

    assert blocked.status_code == 429
    assert client.get("/settings/profile/").status_code == 302


def test_no_factor_no_challenge(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a)

    login(client, "kim@example.com")

    assert client.get("/settings/profile/").status_code == 200


# --- enrolment through the pages and the workspace requirement --------------------------------------


def test_workspace_requirement_forces_enrolment_then_lets_in(client_for, tenant_a, member, admin_of):
    admin = admin_of(tenant_a)
    totp_on(admin.user)
    admin_client = client_for(tenant_a, admin)
    pass_factor(admin_client, admin)
    saved = admin_client.post("/settings/access/security/", {"form": "mfa", "required": "on"})
    assert saved.status_code == 302, saved.content
    assert saved["Location"] == "/settings/access/security/", saved["Location"]
    assert services.workspace_mfa_required(tenant_a)

    member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a)
    login(client, "kim@example.com")
    held = client.get("/")
    assert held["Location"].startswith("/mfa/?next=")
    page = client.get("/mfa/")
    assert "This workspace requires two-factor authentication" in page.content.decode()
    setup = client.get("/mfa/totp/")
    assert setup.status_code == 200 and "<svg" in setup.content.decode()
    device = TotpDevice.objects.get(user__email="kim@example.com")
    done = client.post("/mfa/totp/", {"code": now_code(device), "next": "/"})
    assert done.status_code == 200
    assert "will not be shown again" in done.content.decode()
    assert client.get("/settings/profile/").status_code == 200


def test_admin_cannot_require_mfa_without_a_factor(client_for, tenant_a, admin_of):
    client = client_for(tenant_a, admin_of(tenant_a))

    response = client.post("/settings/access/security/", {"form": "mfa", "required": "on"})

    assert response.status_code == 200
    assert "Set up two-factor authentication for yourself first" in response.content.decode()
    assert not services.workspace_mfa_required(tenant_a)


def test_requirement_of_one_workspace_does_not_apply_to_another(client_for, tenant_a, tenant_b, member):
    services.workspace_mfa_set(tenant=tenant_a, required=True)
    user = make_user("both@example.com")
    member(tenant_a, email=user.email)
    member(tenant_b, email=user.email)

    on_a, on_b = client_for(tenant_a), client_for(tenant_b)
    login(on_a, user.email)
    login(on_b, user.email)

    assert on_a.get("/settings/profile/").status_code == 302
    assert on_b.get("/settings/profile/").status_code == 200


# --- remembered devices ---------------------------------------------------------------------------


def _remembered_client(client_for, tenant, device):
    client = client_for(tenant)
    login(client, device.user.email)
    response = client.post("/mfa/verify/", {"code": now_code(device), "remember": "on"})
    assert response.status_code == 302
    return client


def test_remembered_device_skips_the_challenge_until_revoked(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    device, _codes = totp_on(m.user)
    client = _remembered_client(client_for, tenant_a, device)
    assert services.REMEMBER_COOKIE in client.cookies

    client.post("/accounts/logout/")
    login(client, "kim@example.com")
    assert client.get("/settings/profile/").status_code == 200
    page = client.get("/mfa/")
    assert "alpha" in page.content.decode()

    remembered = RememberedDevice.objects.get(user=m.user)
    assert client.post(f"/mfa/devices/{remembered.pk}/revoke/").status_code == 302
    client.post("/accounts/logout/")
    login(client, "kim@example.com")
    assert client.get("/settings/profile/").status_code == 302


def test_expired_or_forged_remember_cookie_is_ignored(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    device, _codes = totp_on(m.user)
    client = _remembered_client(client_for, tenant_a, device)
    RememberedDevice.objects.filter(user=m.user).update(expires_at=timezone.now() - timedelta(seconds=1))
    client.post("/accounts/logout/")
    login(client, "kim@example.com")
    assert client.get("/settings/profile/").status_code == 302  # expired

    other = make_user()
    forged = signing.dumps({"d": 1, "u": m.user.pk, "k": "guess"}, salt="wrong-salt")
    stranger = client_for(tenant_a)
    stranger.cookies[services.REMEMBER_COOKIE] = forged
    assert services.remember_check(value=forged, user=m.user, scope="alpha") is None
    valid_for_other = services.remember_issue(user=other, scope="alpha", label="x")
    assert services.remember_check(value=valid_for_other, user=m.user, scope="alpha") is None  # bound to the user
    assert services.remember_check(value=valid_for_other + "x", user=other, scope="alpha") is None  # tampered


def test_remember_cookie_older_than_thirty_days_is_refused():
    user = make_user()
    totp_on(user)
    value = services.remember_issue(user=user, scope="alpha", label="x")
    real_time = time.time

    try:
        time.time = lambda: real_time() + 31 * 24 * 3600
        assert services.remember_check(value=value, user=user, scope="alpha") is None
    finally:
        time.time = real_time
    assert services.remember_check(value=value, user=user, scope="alpha") is not None


def test_remember_cookie_of_tenant_a_is_useless_on_tenant_b(client_for, tenant_a, tenant_b, member):
    user = make_user("both@example.com")
    member(tenant_a, email=user.email)
    member(tenant_b, email=user.email)
    device, _codes = totp_on(user)
    on_a = _remembered_client(client_for, tenant_a, device)
    cookie = on_a.cookies[services.REMEMBER_COOKIE].value

    on_b = client_for(tenant_b)
    on_b.cookies[services.REMEMBER_COOKIE] = cookie
    login(on_b, user.email)

    assert on_b.get("/settings/profile/").status_code == 302  # asked for the factor on B
    # and the factor itself is the identity's: the same app's next code passes B's challenge
    passed = on_b.post("/mfa/verify/", {"code": now_code(device, 30)})
    assert passed.status_code == 302
    assert on_b.get("/settings/profile/").status_code == 200


# --- API tokens -----------------------------------------------------------------------------------


def obtain(client, body):
    return client.post("/api/v1/auth/token", body, content_type="application/json")


def test_token_endpoint_needs_otp_when_the_account_has_mfa(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    device, _codes = totp_on(m.user, at=FIXED)
    client = client_for(tenant_a)
    body = {"email": "kim@example.com", "password": TEST_PASSWORD}

    missing = obtain(client, body)
    wrong = obtain(client, {**body, "otp": "000000"})
    right = obtain(client, {**body, "otp": now_code(device)})

    assert missing.status_code == 400 and "otp" in missing.json()
    assert wrong.status_code == 400 and "otp" in wrong.json()
    assert right.status_code == 201 and right.json()["token"]
    me = client_for(tenant_a).get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {right.json()['token']}")
    assert me.status_code == 200  # the token itself is not asked for a second factor


def test_token_endpoint_unchanged_without_mfa_and_refused_when_workspace_requires(client_for, tenant_a, member):
    member(tenant_a, email="kim@example.com")
    body = {"email": "kim@example.com", "password": TEST_PASSWORD}

    assert obtain(client_for(tenant_a), body).status_code == 201
    services.workspace_mfa_set(tenant=tenant_a, required=True)
    refused = obtain(client_for(tenant_a), body)
    assert refused.status_code == 400 and "otp" in refused.json()


def test_token_page_needs_a_recent_second_factor(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    device, _codes = totp_on(m.user)
    client = _remembered_client(client_for, tenant_a, device)
    client.post("/accounts/logout/")
    login(client, "kim@example.com")  # let in by the remembered device: no recent check

    asked = client.post("/settings/api-tokens/", {"name": "ci"})
    assert asked["Location"] == "/mfa/verify/?next=/settings/api-tokens/"
    client.post("/mfa/verify/", {"code": now_code(device, 30), "next": "/settings/api-tokens/"})
    created = client.post("/settings/api-tokens/", {"name": "ci"})
    assert created.status_code == 200 and "will not be shown again" in created.content.decode()


# --- operators and partners ---------------------------------------------------------------------


def test_operator_must_enrol_then_verify(settings):
    settings.MFA_OPERATORS_REQUIRED = True
    operator = make_user("op@example.com")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    client = Client(HTTP_HOST="localhost")
    login_page = client.post("/admin/login/?next=/admin/", {"username": "op@example.com", "password": TEST_PASSWORD})
    assert login_page.status_code == 302

    held = client.get("/admin/")
    assert held["Location"].startswith("/mfa/?next=")
    assert "Operators must use two-factor authentication" in client.get("/mfa/").content.decode()
    client.get("/mfa/totp/")
    device = TotpDevice.objects.get(user=operator)
    client.post("/mfa/totp/", {"code": now_code(device)})
    assert client.get("/admin/").status_code == 200

    client.post("/admin/logout/")
    client.post("/admin/login/?next=/admin/", {"username": "op@example.com", "password": TEST_PASSWORD})
    assert client.get("/admin/")["Location"].startswith("/mfa/verify/")
    client.post("/mfa/verify/", {"code": now_code(device, 30)})
    assert client.get("/admin/").status_code == 200


def test_partner_with_totp_is_challenged_on_the_portal():
    user = make_user("partner@example.com")
    device, _codes = totp_on(user)
    client = Client(HTTP_HOST="localhost")

    signed = client.post("/partner-portal/login/", {"username": user.email, "password": TEST_PASSWORD})
    assert signed.status_code == 302
    held = client.get("/partner-portal/")
    assert held["Location"].startswith("/mfa/verify/")
    client.post("/mfa/verify/", {"code": now_code(device)})
    assert client.get("/partner-portal/").status_code in (200, 302)
    assert not client.get("/partner-portal/").get("Location", "").startswith("/mfa/")


def test_factor_added_and_removed_are_emailed_and_audited(
    client_for, tenant_a, member, django_capture_on_commit_callbacks
):
    m = member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a, m)
    client.get("/mfa/totp/")
    device = TotpDevice.objects.get(user=m.user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/mfa/totp/", {"code": now_code(device)})
        client.post("/mfa/totp/remove/", {"secret": TEST_PASSWORD})

    subjects = [message.subject for message in mail.outbox]
    assert "An authenticator app was added to your account" in subjects
    assert "An authenticator app was removed from your account" in subjects
    assert not services.user_has_factor(m.user)
    with schema_context("alpha"):
        details = [e.details.get("mfa") for e in AuditEvent.objects.filter(action="mfa_changed")]
    assert "totp_added" in details and "totp_removed" in details


def test_removing_a_factor_needs_a_code_or_the_password(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    totp_on(m.user)
    client = client_for(tenant_a, m)
    pass_factor(client, m)

    refused = client.post("/mfa/totp/remove/", {"secret": "not-the-password"})
    assert refused["Location"] == "/mfa/"
    assert services.user_has_factor(m.user)
    client.post("/mfa/totp/remove/", {"secret": TEST_PASSWORD})
    assert not services.user_has_factor(m.user)


# --- credentials that are not sessions keep working; new ones need a recent second factor ----------


def test_app_passwords_and_access_keys_work_without_prompts_for_a_user_with_mfa(tenant_a, member):
    from crm_apps.dav.services import app_password_create
    from crm_apps.dav.tests.conftest import PROPFIND_ALL, DavClient
    from crm_apps.vtiger.tests.conftest import basic, key_of

    m = member(tenant_a, email="kim@example.com")
    totp_on(m.user)
    services.workspace_mfa_set(tenant=tenant_a, required=True)
    with schema_context("alpha"):
        password = app_password_create(member=m, name="Phone")[1]

    dav = DavClient(tenant_a, m.user.email, password).request("PROPFIND", "/dav/", PROPFIND_ALL, depth="0")
    vtiger = Client(HTTP_HOST="alpha.localhost").get(
        "/restapi/v1/vtiger/default/me", HTTP_AUTHORIZATION=basic(m.user.email, key_of(tenant_a, m))
    )

    assert dav.status_code == 207
    assert vtiger.status_code == 200


def test_app_password_creation_needs_a_recent_second_factor(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    device, _codes = totp_on(m.user)
    client = _remembered_client(client_for, tenant_a, device)
    client.post("/accounts/logout/")
    login(client, "kim@example.com")  # let in by the remembered device

    asked = client.post("/settings/app-passwords/", {"name": "Phone"})
    api = client.post("/api/v1/me/app-passwords", {"name": "Phone"}, content_type="application/json")

    assert asked["Location"] == "/mfa/verify/?next=/settings/profile/"
    assert api.status_code == 403
    client.post("/mfa/verify/", {"code": now_code(device, 30)})
    created = client.post("/settings/app-passwords/", {"app_password-name": "Phone"})
    assert created.status_code == 200


# --- WebAuthn (server side; the browser journey registers and uses a real virtual key) -------------


def test_webauthn_options_name_the_users_keys_and_a_bad_answer_is_refused(settings):
    import json

    settings.BASE_DOMAIN = "crm.example"
    user = make_user()
    options, challenge = services.webauthn_registration_options(user=user, host="alpha.crm.example")
    data = json.loads(options)
    assert data["rp"]["id"] == "crm.example"  # one key for every workspace host
    assert services.rp_id("alpha.localhost:8000") == "crm.example"
    settings.BASE_DOMAIN = "localhost"
    assert services.rp_id("alpha.localhost:8000") == "alpha.localhost"  # browsers refuse "localhost"

    with pytest.raises(Exception) as error:
        services.webauthn_register(
            user=user, name="Key", credential="{}", challenge=challenge, origin="https://alpha.crm.example", host="x"
        )
    assert "credential" in error.value.message_dict  # type: ignore[attr-defined]
    with pytest.raises(Exception) as unnamed:
        services.webauthn_register(user=user, name=" ", credential="{}", challenge=challenge, origin="o", host="x")
    assert "name" in unnamed.value.message_dict  # type: ignore[attr-defined]
    assert services.webauthn_authenticate(user=user, credential="garbage", challenge=b"x", origin="o", host="x") is None


def test_key_endpoints_answer_field_errors_not_500(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a, m)

    no_options = client.post("/mfa/keys/", {"name": "Key", "credential": "{}"})
    options = client.post("/mfa/keys/options/")
    bad = client.post("/mfa/keys/", {"name": "Key", "credential": "not json"})

    assert no_options.status_code == 400 and "credential" in no_options.json()["errors"]
    assert options.status_code == 200 and "challenge" in options.json()
    assert bad.status_code == 400 and "credential" in bad.json()["errors"]


def test_token_endpoint_takes_a_recovery_code_once(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    _device, codes = totp_on(m.user)
    body = {"email": "kim@example.com", "password": TEST_PASSWORD, "otp": codes[0]}

    first = obtain(client_for(tenant_a), body)
    again = obtain(client_for(tenant_a), body)

    assert first.status_code == 201
    assert again.status_code == 400 and "otp" in again.json()


def test_adding_a_factor_in_a_remembered_session_is_not_a_verification(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    device, _codes = totp_on(m.user)
    client = _remembered_client(client_for, tenant_a, device)
    client.post("/accounts/logout/")
    login(client, "kim@example.com")  # let in by the remembered device

    client.post("/mfa/totp/remove/", {"secret": TEST_PASSWORD})
    client.get("/mfa/totp/")
    fresh = TotpDevice.objects.get(user=m.user)
    client.post("/mfa/totp/", {"code": now_code(fresh)})

    asked = client.post("/settings/api-tokens/", {"name": "ci"})
    assert asked["Location"] == "/mfa/verify/?next=/settings/api-tokens/"


def test_the_only_factor_cannot_be_removed_where_mfa_is_required(client_for, tenant_a, member):
    m = member(tenant_a, email="kim@example.com")
    totp_on(m.user)
    services.workspace_mfa_set(tenant=tenant_a, required=True)
    client = client_for(tenant_a, m)
    pass_factor(client, m)

    client.post("/mfa/totp/remove/", {"secret": TEST_PASSWORD})

    assert services.user_has_factor(m.user)
