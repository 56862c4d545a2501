"""A member turns on an authenticator app (QR enrolment) and a security key (Chromium's virtual
authenticator through CDP), then signs in with each as the second factor."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from conftest import TEST_PASSWORD, make_user
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sign_in(page, base, email):
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_member_enrols_totp_and_a_security_key_then_signs_in_with_each(live_site, browser, committed):
    admin = make_user(committed.email(), name="Ada Admin")
    tenant = tenant_provision(slug=committed.slug("mfa"), name="Secure Co", admin=admin)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    context = browser.new_context()
    page = context.new_page()
    authenticator = context.new_cdp_session(page)
    authenticator.send("WebAuthn.enable")
    authenticator.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": False,
                "hasUserVerification": False,
                "automaticPresenceSimulation": True,
            }
        },
    )

    sign_in(page, base, admin.email)
    page.wait_for_url(base + "/")
    page.goto(base + "/mfa/")
    page.get_by_role("link", name="Set up an authenticator app").click()
    # is_visible() does not wait: under CI load the click's navigation may still be loading.
    page.wait_for_selector(".mfa-qr svg", state="visible")
    secret = page.locator("[data-totp-secret]").inner_text()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    page.wait_for_selector("[data-recovery-codes]")
    assert page.locator("[data-recovery-codes] li").count() == 10
    page.get_by_role("link", name="I have saved them").click()

    page.goto(base + "/mfa/")
    page.get_by_label("Key name").fill("Virtual key")
    page.get_by_role("button", name="Add a security key").click()
    page.get_by_text("Virtual key").first.wait_for()  # back on the security page, with the key listed
    assert page.get_by_text("Virtual key").first.is_visible()

    # Sign in again with the key as the second factor.
    context.clear_cookies()
    sign_in(page, base, admin.email)
    page.wait_for_url(re.compile(r".*/mfa/verify/.*"))
    page.get_by_role("button", name="Use my security key").click()
    page.wait_for_url(base + "/")

    # And with the authenticator app (the next time step: the enrolment code cannot be used again).
    context.clear_cookies()
    sign_in(page, base, admin.email)
    page.wait_for_url(re.compile(r".*/mfa/verify/.*"))
    page.get_by_label("Code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(base + "/")
    context.close()
