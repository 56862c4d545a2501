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
            WebForm.objects.filter(pk=body_b["id"]).update(pk=body_a["id"])
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
