"""Behaviour that only shows with committed data and several connections (no test transaction)."""

from __future__ import annotations

from crm_apps.access.models import Member


def test_two_admins_cannot_demote_each_other_at_once(committed):
    """Each admin removes the other's rights at the same moment: exactly one succeeds."""
    import threading

    from django.core.exceptions import PermissionDenied, ValidationError
    from django.db import connections
    from django_tenants.utils import tenant_context

    from conftest import make_user
    from crm_apps.access.services import member_create, member_set_admin
    from tenants.services import tenant_provision

    first = make_user(committed.email())
    tenant = tenant_provision(slug=committed.slug("race"), name="Race", admin=first)
    with tenant_context(tenant):
        second = member_create(tenant=tenant, user=make_user(committed.email()), is_admin=True)
        a = Member.objects.get(user=first)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(actor, target):
        with tenant_context(tenant):
            barrier.wait()
            try:
                member_set_admin(actor=actor, member=target, is_admin=False)
                outcomes.append("ok")
            except (ValidationError, PermissionDenied):  # the loser is no longer an admin, or is the last
                outcomes.append("refused")
            finally:
                connections.close_all()

    threads = [threading.Thread(target=demote, args=(a, second)), threading.Thread(target=demote, args=(second, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["ok", "refused"]
    with tenant_context(tenant):
        assert Member.objects.filter(is_admin=True, active=True).count() >= 1


def test_deleted_tenant_leaves_no_cache_or_files_for_a_new_tenant_with_its_slug(committed, media_root):
    from django.core.cache import cache
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django_tenants.utils import tenant_context

    from conftest import make_user
    from tenants.services import tenant_delete, tenant_provision

    tmp_path = media_root
    slug = committed.slug("reuse")
    old = tenant_provision(slug=slug, name="Old", admin=make_user(committed.email()))
    with tenant_context(old):
        cache.set("report", "old tenant data", 600)
        default_storage.save("docs/old.txt", ContentFile(b"old"))

    kept = tenant_delete(tenant=old, drop_schema=False)
    committed.slugs.append(kept)
    new = tenant_provision(slug=slug, name="New", admin=make_user(committed.email()))

    with tenant_context(new):
        assert cache.get("report") is None
        assert not default_storage.exists("docs/old.txt")
    assert (tmp_path / kept / "docs" / "old.txt").read_bytes() == b"old"


def test_record_numbers_are_unique_under_concurrency(committed):
    import threading

    from django.db import connections
    from django_tenants.utils import tenant_context

    from conftest import make_user
    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create
    from tenants.services import tenant_provision

    admin = make_user(committed.email())
    tenant = tenant_provision(slug=committed.slug("num"), name="Numbers", admin=admin)
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
    spec = registry.get("vendors")
    numbers: list[str] = []
    barrier = threading.Barrier(4)

    def create_many() -> None:
        with tenant_context(tenant):
            barrier.wait()
            try:
                for i in range(10):
                    numbers.append(record_create(spec=spec, actor=actor, data={"name": f"V{i}"}).number)
            finally:
                connections.close_all()

    threads = [threading.Thread(target=create_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(numbers) == 40
    assert sorted(numbers, key=lambda n: int(n[3:])) == [f"VEN{i}" for i in range(1, 41)]


def test_two_first_installs_of_the_same_extension_at_once_both_succeed(committed, monkeypatch):
    """A double submission of "Install": both requests see no installation row yet; the second one must
    not fail on the unique listing but install over the row the first one committed."""
    import threading
    import time

    from django.db import connections
    from django_tenants.utils import tenant_context

    from conftest import make_user
    from marketplace.installs import services as installs
    from marketplace.installs.models import ExtensionInstallation
    from marketplace.installs.tests.conftest import first_party
    from tenants.services import tenant_provision

    admin = make_user(committed.email())
    tenant = tenant_provision(slug=committed.slug("install"), name="Installs", admin=admin)
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
    manifest = first_party("saas-sales-kit")
    apply = installs._Applier.apply

    def slow_apply(self):  # keeps the first install's transaction open while the second one starts
        time.sleep(0.5)
        return apply(self)

    monkeypatch.setattr(installs._Applier, "apply", slow_apply)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def install() -> None:
        with tenant_context(tenant):
            barrier.wait()
            try:
                installation, _key = installs.extension_install(
                    actor=actor, listing_id=7, slug=manifest.key, name="SaaS sales kit", manifest=manifest
                )
                outcomes.append(installation.pk)
            except Exception as exc:  # the outcome under test
                outcomes.append(exc)
            finally:
                connections.close_all()

    threads = [threading.Thread(target=install) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    with tenant_context(tenant):
        [installation] = ExtensionInstallation.objects.all()
        assert outcomes == [installation.pk, installation.pk]
        assert installation.is_installed and installation.version == str(manifest.version)
