"""Click-to-call links: the providers and the settings are asked once per request, not once per phone cell
(issue 25), and a change of the settings is seen by the next link."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from crm_apps.modules.calls import links
from crm_apps.modules.calls.settings_store import telephony_settings_update

pytestmark = pytest.mark.django_db


def test_providers_are_asked_once_per_request(tenant_a, monkeypatch):
    asked: list[bool] = []
    real = links.telephony_providers

    def counted():
        asked.append(True)
        return real()

    monkeypatch.setattr(links, "telephony_providers", counted)
    with schema_context(tenant_a.schema_name):
        links._forget()  # what a request start does (request_started)
        assert [links.click_to_call_url(n) for n in ("+1 555 0100", "+1 555 0101", "(555) 0102")] == [
            "tel:+15550100",
            "tel:+15550101",
            "tel:5550102",
        ]
        assert len(asked) == 1
        links._forget()  # what a request start does (request_started)
        links.click_to_call_url("+1 555 0100")
        assert len(asked) == 2  # a new request asks again (an app may have been suspended meanwhile)


def test_a_new_template_is_used_by_the_next_link(tenant_a, tenant_b, admin_of, django_capture_on_commit_callbacks):
    with schema_context(tenant_a.schema_name):
        links._forget()  # what a request start does (request_started)
        assert links.click_to_call_url("+44 20 7946 0000") == "tel:+442079460000"
        with django_capture_on_commit_callbacks(execute=True):
            telephony_settings_update(
                actor=admin_of(tenant_a), default_region="GB", click_to_call_template="callto:{number}"
            )
        assert links.click_to_call_url("+44 20 7946 0000") == "callto:+442079460000"
    with schema_context(tenant_b.schema_name):  # same request, another workspace: its own settings
        assert links.click_to_call_url("+44 20 7946 0000") == "tel:+442079460000"
