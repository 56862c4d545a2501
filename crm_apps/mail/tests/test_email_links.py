"""Email values in lists are links to the composer (mail.hooks.email_linker), on every row."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.display import url_of
from crm_apps.engine.services import record_create

pytestmark = pytest.mark.django_db


def test_every_email_cell_opens_the_composer(tenant_a, admin_of, client_for):
    admin = admin_of(tenant_a)
    spec = registry.get("contacts")
    with tenant_context(tenant_a):
        for n in range(3):
            record_create(spec=spec, actor=admin, data={**spec.example, "email": f"row{n}+x@example.com"})

    page = client_for(tenant_a, admin).get("/m/contacts/").content.decode()

    for n in range(3):
        assert f'href="/mail/compose/?to=row{n}%2Bx%40example.com"' in page
    assert url_of("mail:compose") == "/mail/compose/" and url_of("mail:compose") is url_of("mail:compose")
