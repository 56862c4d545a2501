"""A list page's saved views are cached per member and module under the tenant's `views` version (issue 25):
a repeated list view reads none, and a view saved, changed or deleted shows at once, in its tenant only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tenants.utils import schema_context

from crm_apps.engine import registry, selectors
from crm_apps.engine.models import SavedView

pytestmark = pytest.mark.django_db


def _saved_view_statements(captured) -> int:
    return sum('"engine_savedview"' in q["sql"] for q in captured.captured_queries)


def test_a_repeated_list_view_reads_no_saved_view_and_a_new_one_shows_at_once(
    tenant_a, admin_of, client_for, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    url = reverse("engine:list", args=["contacts"])
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    assert _saved_view_statements(captured) == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("engine:view_create", args=["contacts"]), {"name": "Hot leads", "q": "Hot"})
    assert response.status_code == 302
    page = client.get(url)
    assert "Hot leads" in page.content.decode()

    with schema_context(tenant_a.schema_name), django_capture_on_commit_callbacks(execute=True):
        SavedView.objects.filter(name="Hot leads").delete()
    assert "Hot leads" not in client.get(url).content.decode()


def test_another_tenants_views_are_never_shown(tenant_a, tenant_b, admin_of):
    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin_a = admin_of(tenant_a)
        SavedView.objects.create(module="contacts", name="Alpha view", owner=admin_a, shared=True)
        assert [v.name for v in selectors.saved_views_for_list(spec=contacts, actor=admin_a).named] == ["Alpha view"]
    with schema_context(tenant_b.schema_name):
        admin_b = admin_of(tenant_b)
        assert selectors.saved_views_for_list(spec=contacts, actor=admin_b).named == []
        SavedView.objects.create(module="contacts", name="Beta view", owner=admin_b, shared=True)
        assert [v.name for v in selectors.saved_views_for_list(spec=contacts, actor=admin_b).named] == ["Beta view"]
    with schema_context(tenant_a.schema_name):
        assert [v.name for v in selectors.saved_views_for_list(spec=contacts, actor=admin_a).named] == ["Alpha view"]


def test_a_layout_change_is_seen_on_the_next_read(tenant_a, admin_of):
    from crm_apps.engine.services.saved_views import saved_view_layout_save

    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        assert selectors.saved_views_for_list(spec=contacts, actor=admin).default is None
        saved_view_layout_save(spec=contacts, actor=admin, view=None, layout={"density": "compact"})
        default = selectors.saved_views_for_list(spec=contacts, actor=admin).default
        assert default is not None and default.layout.get("density") == "compact"
