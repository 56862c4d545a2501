"""Web forms: views of every variant (hosted page, the embed's definition, the plain variant's pixel) in the
statistics by UTM source, the built-in proof of work (no external call) and the captcha provider hook."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from crm_apps.webforms import guard
from crm_apps.webforms.models import DailyStat, Submission, WebForm
from crm_apps.webforms.tests.test_webforms import CACHES, SITE, leads, make_form, path_of, visitor
from saas import throttle

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def solve(token: str, bits: int) -> str:
    """What the browser's form.js / embed.js do, in Python."""
    for nonce in itertools.count():
        if guard.leading_zero_bits(hashlib.sha256(f"{token}:{nonce}".encode()).digest()) >= bits:
            return str(nonce)
    raise AssertionError


def fresh_token(tenant, form_id: int) -> str:
    with schema_context(tenant.schema_name):
        return guard.token_for(WebForm.objects.get(pk=form_id))


def test_every_variant_counts_views_by_utm_source(admin_api, tenant_a):
    body = make_form(admin_api, allowed_origins=[SITE])
    url = path_of(body["public_url"])
    assert f'src="{body["public_url"]}view.gif"' in body["html"]  # the plain variant carries the pixel
    assert 'referrerpolicy="no-referrer-when-downgrade"' in body["html"]
    client = visitor(tenant_a)
    client.get(url + "?utm_source=ads")  # the hosted page
    client.get(url + "definition.json?utm_source=ads", HTTP_ORIGIN=SITE)  # the embed script
    pixel = client.get(url + "view.gif", HTTP_REFERER=f"{SITE}/pricing?utm_source=newsletter&x=1")
    assert (pixel.status_code, pixel["Content-Type"], pixel.content[:6]) == (200, "image/gif", b"GIF89a")
    client.get(url + "view.gif", HTTP_REFERER="https://evil.example/?utm_source=newsletter")  # not listed: not counted
    # A plain form posted from the listed site: its UTM source comes from the page's address.
    sent = client.post(
        url, {"last_name": "Plain", "company": "C"}, HTTP_REFERER=f"{SITE}/pricing?utm_source=newsletter"
    )
    assert sent.status_code == 201
    stats = admin_api.get(f"/api/v1/webforms/{body['id']}/stats").json()
    assert (stats["views"], stats["submissions"], stats["conversion"]) == (3, 1, 33.3)
    by_source = {row["source"]: row for row in stats["by_source"]}
    assert (by_source["ads"]["views"], by_source["newsletter"]["views"], by_source["newsletter"]["submissions"]) == (
        2,
        1,
        1,
    )
    # The hosted page itself never loads the pixel (a view is counted once per showing).
    assert "view.gif" not in client.get(url).content.decode()


def test_the_pixel_of_an_inactive_or_unknown_form_counts_nothing(admin_api, tenant_a):
    body = make_form(admin_api, active=False)
    client = visitor(tenant_a)
    assert client.get(path_of(body["public_url"]) + "view.gif").status_code == 200
    assert client.get("/f/no-such-form/view.gif").status_code == 404
    with schema_context(tenant_a.schema_name):
        assert not DailyStat.objects.exists()


def test_proof_of_work_is_required_checked_and_spent_once(admin_api, tenant_a):
    body = make_form(admin_api, proof_of_work_bits=10)
    assert body["proof_of_work_bits"] == 10
    url = path_of(body["public_url"])
    client = visitor(tenant_a)
    definition = client.get(url + "definition.json").json()
    assert definition["pow"] == {"bits": 10, "field": "_pow"}
    assert 'data-kestrel-pow="10"' in client.get(url).content.decode()
    assert "/f/form.js" in body["html"]
    token = definition["token"]
    values = {"last_name": "Work", "company": "C", "_ts": token}

    missing = client.post(url, values, content_type="application/json")
    wrong = client.post(url, {**values, "_pow": "not-a-number"}, content_type="application/json")
    nonce = solve(token, 10)
    too_weak = next(
        str(n)
        for n in itertools.count()
        if guard.leading_zero_bits(hashlib.sha256(f"{token}:{n}".encode()).digest()) < 10
    )
    weak = client.post(url, {**values, "_pow": too_weak}, content_type="application/json")
    assert [r.status_code for r in (missing, wrong, weak)] == [400, 400, 400]
    assert leads(tenant_a) == []

    accepted = client.post(url, {**values, "_pow": nonce}, content_type="application/json")
    assert accepted.status_code == 201, accepted.content
    replay = client.post(url, {**values, "last_name": "Again", "_pow": nonce}, content_type="application/json")
    assert replay.status_code == 400
    assert [lead.last_name for lead in leads(tenant_a)] == ["Work"]
    with schema_context(tenant_a.schema_name):
        reasons = list(Submission.objects.filter(status="rejected").values_list("reason", flat=True))
    assert reasons == ["challenge"] * 4

    # Another form's token with a valid proof is refused too.
    other = make_form(admin_api, name="Other", proof_of_work_bits=8)
    foreign = fresh_token(tenant_a, other["id"])
    crossed = client.post(url, {**values, "_ts": foreign, "_pow": solve(foreign, 10)}, content_type="application/json")
    assert crossed.status_code == 400


def test_an_old_proof_of_work_token_is_refused(admin_api, tenant_a, monkeypatch):
    body = make_form(admin_api, proof_of_work_bits=8)
    token = fresh_token(tenant_a, body["id"])
    monkeypatch.setattr(guard, "POW_MAX_AGE", -1)
    answer = visitor(tenant_a).post(
        path_of(body["public_url"]),
        {"last_name": "Late", "company": "C", "_ts": token, "_pow": solve(token, 8)},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert leads(tenant_a) == []


def test_proof_of_work_with_redis_down_still_accepts_a_solved_form(admin_api, tenant_a, monkeypatch):
    body = make_form(admin_api, proof_of_work_bits=8)
    token = fresh_token(tenant_a, body["id"])
    down = {
        "default": {
            **CACHES["default"],
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    monkeypatch.setattr(throttle, "_clients", {})
    with override_settings(CACHES=down):
        answer = visitor(tenant_a).post(
            path_of(body["public_url"]),
            {"last_name": "Offline", "company": "C", "_ts": token, "_pow": solve(token, 8)},
            content_type="application/json",
        )
    monkeypatch.setattr(throttle, "_clients", {})
    assert answer.status_code == 201, answer.content
    assert len(leads(tenant_a)) == 1


def test_proof_of_work_difficulty_is_validated(admin_api, tenant_a):
    bad = admin_api.post(
        "/api/v1/webforms/",
        {"name": "Weak", "module": "leads", "fields": [{"field": "last_name"}], "proof_of_work_bits": 3},
        content_type="application/json",
    )
    assert (bad.status_code, list(bad.json())) == (400, ["proof_of_work_bits"])
    too_hard = admin_api.post(
        "/api/v1/webforms/",
        {"name": "Hard", "module": "leads", "fields": [{"field": "last_name"}], "proof_of_work_bits": 40},
        content_type="application/json",
    )
    assert too_hard.status_code == 400
    with schema_context(tenant_a.schema_name):
        assert not WebForm.objects.exists()


def test_a_captcha_provider_hook_decides_without_any_default_external_call(admin_api, tenant_a):
    body = make_form(admin_api)
    url = path_of(body["public_url"])
    client = visitor(tenant_a)
    seen: list[str] = []

    def provider(form: WebForm, values: dict[str, object]) -> bool:
        seen.append(form.name)
        return values.get("captcha") == "human"

    assert client.post(url, {"last_name": "Before", "company": "C"}, content_type="application/json").status_code == 201
    guard.challenge_add(provider)
    try:
        refused = client.post(url, {"last_name": "Bot", "company": "C"}, content_type="application/json")
        passed = client.post(
            url, {"last_name": "Human", "company": "C", "captcha": "human"}, content_type="application/json"
        )
    finally:
        guard.challenge_remove(provider)
    assert (refused.status_code, passed.status_code) == (400, 201)
    assert refused.json()["errors"] == {"non_field_errors": ["Please confirm that you are not a robot."]}
    assert seen == ["Contact us", "Contact us"]
    assert sorted(lead.last_name for lead in leads(tenant_a)) == ["Before", "Human"]
