"""Review fixes: render tokens bound to their workspace, proof of work with the pasted plain variant,
atomic spending of a proof, bad capture values, the translated size refusal."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from crm_apps.webforms import guard
from crm_apps.webforms.models import Submission, WebForm
from crm_apps.webforms.tests.test_webforms import leads, make_form, path_of, visitor
from crm_apps.webforms.tests.test_webforms_pow_and_views import fresh_token, solve

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def test_a_token_of_one_workspaces_form_is_refused_by_anothers_form_with_the_same_pk(
    admin_api, tenant_a, tenant_b, client_for, admin_of
):
    body_a = make_form(admin_api, proof_of_work_bits=8)
    body_b = make_form(client_for(tenant_b, admin_of(tenant_b)), proof_of_work_bits=8)
    with schema_context(tenant_b.schema_name):
        if body_b["id"] != body_a["id"]:
            WebForm.objects.filter(pk=body_a["id"]).delete()
            WebForm.objects.filter(pk=body_b["id"]).update(id=body_a["id"])
        assert WebForm.objects.get(pk=body_a["id"]).name == body_b["name"]
    token = fresh_token(tenant_a, body_a["id"])
    values = {"last_name": "Crossed", "company": "C", "_ts": token, "_pow": solve(token, 8)}
    crossed = visitor(tenant_b).post(path_of(body_b["public_url"]), values, content_type="application/json")
    assert crossed.status_code == 400
    assert leads(tenant_b) == []
    with schema_context(tenant_b.schema_name):
        assert list(Submission.objects.values_list("reason", flat=True)) == ["challenge"]
    home = visitor(tenant_a).post(path_of(body_a["public_url"]), values, content_type="application/json")
    assert home.status_code == 201, home.content


def test_a_pasted_plain_form_with_proof_of_work_keeps_working_for_every_visitor(admin_api, tenant_a, monkeypatch):
    """The plain variant's pasted token grows old and proves one submission only; form.js fetches a fresh one
    from token.json (CORS for the listed sites, not counted as a view) before solving."""
    from crm_apps.webforms.tests.test_webforms import SITE

    body = make_form(admin_api, proof_of_work_bits=8, allowed_origins=[SITE])
    assert "/f/form.js" in body["html"] and 'data-kestrel-pow="8"' in body["html"]
    url = path_of(body["public_url"])
    pasted = fresh_token(tenant_a, body["id"])
    monkeypatch.setattr(guard, "POW_MAX_AGE", -1)  # the pasted token is now older than a proof allows
    stale = {"last_name": "Stale", "company": "C", "_ts": pasted, "_pow": solve(pasted, 8)}
    assert visitor(tenant_a).post(url, stale, content_type="application/json").status_code == 400
    monkeypatch.undo()
    for name in ("First", "Second", "Third"):
        client = visitor(tenant_a)
        answer = client.get(url + "token.json", HTTP_ORIGIN=SITE)
        assert answer.status_code == 200 and answer["Access-Control-Allow-Origin"] == SITE
        assert answer["Cache-Control"] == "no-store"
        token = answer.json()["token"]
        sent = client.post(
            url, {"last_name": name, "company": "C", "_ts": token, "_pow": solve(token, 8)}, HTTP_ORIGIN=SITE
        )
        assert sent.status_code in (201, 303), sent.content[:300]
    assert sorted(lead.last_name for lead in leads(tenant_a)) == ["First", "Second", "Third"]
    stats = admin_api.get(f"/api/v1/webforms/{body['id']}/stats").json()
    assert stats["views"] == 0  # fetching a token is not a view (the pixel counts those)
    assert visitor(tenant_a).get(url + "token.json", HTTP_ORIGIN="https://evil.example").status_code == 404


def test_a_proof_is_claimed_in_the_check_so_parallel_replays_fail_and_a_refused_one_is_given_back(admin_api, tenant_a):
    body = make_form(admin_api, proof_of_work_bits=8)
    token = fresh_token(tenant_a, body["id"])
    values: dict[str, object] = {"last_name": "Once", "company": "C", "_ts": token, "_pow": solve(token, 8)}
    with schema_context(tenant_a.schema_name):
        form = WebForm.objects.get(pk=body["id"])
        key = guard.pow_check(form, values)  # the first of two requests racing: claimed here, not after
        with pytest.raises(guard.Rejected):
            guard.pow_check(form, values)
        guard.pow_release(key)
    url = path_of(body["public_url"])
    client = visitor(tenant_a)
    # A submission refused after the check (a field too long) gives the proof back: the visitor corrects it.
    refused = client.post(url, {**values, "company": "x" * 5000}, content_type="application/json")
    assert refused.status_code == 400 and "company" in refused.json()["errors"]
    accepted = client.post(url, values, content_type="application/json")
    assert accepted.status_code == 201, accepted.content
    assert client.post(url, values, content_type="application/json").status_code == 400
    assert [lead.last_name for lead in leads(tenant_a)] == ["Once"]


def test_a_list_or_object_where_a_capture_or_hidden_value_belongs_is_a_400_naming_the_field(admin_api, tenant_a):
    bads: list[dict[str, dict[str, object]]] = [
        {"capture": {"utm_source": ["x"]}},
        {"capture": {"referrer": {"a": 1}}},
        {"hidden": {"company": []}},
    ]
    for bad in bads:
        response = admin_api.post(
            "/api/v1/webforms/", {"name": "Bad", "module": "leads", **bad}, content_type="application/json"
        )
        assert response.status_code == 400, response.content
        ((section, values),) = bad.items()
        assert f"{section}.{next(iter(values))}" in str(response.json()), response.json()
    with schema_context(tenant_a.schema_name):
        assert not WebForm.objects.filter(name="Bad").exists()


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "What you sent is too large."), ("ru", "Отправленные данные слишком велики.")]
)
def test_the_too_large_refusal_is_translated(admin_api, tenant_a, language, expected):
    body = make_form(admin_api)
    huge = visitor(tenant_a).post(
        path_of(body["public_url"]),
        {"last_name": "y", "company": "z" * (guard.MAX_TEXT_BODY + 10)},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert huge.status_code == 413
    assert huge.json()["errors"] == {"non_field_errors": [expected]}
