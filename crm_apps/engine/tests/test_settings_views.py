import pytest

from crm_apps.engine import registry

pytestmark = pytest.mark.django_db
MODULES = sorted(s.key for s in registry.all_specs())


@pytest.mark.parametrize("module", MODULES)
def test_smoke(client_for, tenant_a, admin_of, module):
    c = client_for(tenant_a, admin_of(tenant_a))
    for screen in ("fields", "picklists", "layout", "numbering"):
        r = c.get(f"/settings/modules/{module}/{screen}/")
        assert r.status_code == 200, (screen, r.content[:3000])
    assert c.get("/settings/modules/").status_code == 200
    assert c.get("/settings/modules/leads/conversion/").status_code == 200
    open(f"/tmp/st/{module}-layout.html", "wb").write(c.get(f"/settings/modules/{module}/layout/").content)
    open(f"/tmp/st/{module}-picklists.html", "wb").write(c.get(f"/settings/modules/{module}/picklists/").content)
    open("/tmp/st/conv.html", "wb").write(c.get("/settings/modules/leads/conversion/").content)
    open(f"/tmp/st/{module}-fields.html", "wb").write(c.get(f"/settings/modules/{module}/fields/").content)
