"""Usage statistics of apps: API calls counted where app tokens authenticate, deliveries where they settle,
rolled up from Redis into daily rows; partners see sums only, operators see workspaces."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from conftest import make_user
from crm_apps.engine import registry
from crm_apps.engine import services as engine
from marketplace.apps import usage
from marketplace.apps.models import App, AppUsageDay
from marketplace.apps.tasks import usage_flush_task
from marketplace.apps.tests.conftest import authorize, host_url
from marketplace.catalog.models import Category, Listing
from marketplace.installs.models import DeliveryStatus, WebhookDelivery
from marketplace.installs.services import extension_install
from marketplace.installs.tests.test_token_and_webhooks import hooks_manifest, receiver  # noqa: F401  (fixture)
from marketplace.partners.models import Partner, PartnerMember, PartnerRole
from tenants.models import User
from tenants.runtime import use_public_schema

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters() -> Iterator[None]:
    usage.redis_client().delete(usage._key(timezone.now().date()))
    usage._skip_until = 0.0
    yield
    usage._skip_until = 0.0


def connected(app: Any, secret: str, tenant: Any, admin_client: Any) -> Any:
    session, callback = authorize(app, tenant, admin_client(tenant))
    session.fetch_token(host_url(tenant, "/oauth/token/"), authorization_response=callback, client_secret=secret)
    return session


def test_api_calls_are_counted_per_app_and_workspace_and_flushed_once(
    make_app: Any, admin_client: Any, tenant_a: Any, tenant_b: Any
) -> None:
    app, secret = make_app(["contacts:read"])
    on_a = connected(app, secret, tenant_a, admin_client)
    on_b = connected(app, secret, tenant_b, admin_client)
    for _ in range(3):
        assert on_a.get(host_url(tenant_a, "/api/v1/contacts/")).status_code == 200
    assert on_b.get(host_url(tenant_b, "/api/v1/contacts/")).status_code == 200
    # A refused call (scope missing) is not the app's use of the workspace.
    assert on_a.get(host_url(tenant_a, "/api/v1/deals/")).status_code == 403

    usage_flush_task()
    usage_flush_task()  # the counter holds the day's total: a second flush sets the same values

    rows = {r.tenant_id: r.api_calls for r in AppUsageDay.objects.filter(app=app, day=timezone.now().date())}
    assert rows == {tenant_a.pk: 3, tenant_b.pk: 1}


def test_delivery_outcomes_count_for_the_apps_of_the_listing(app_partner: Any, make_app: Any, tenant_a: Any) -> None:
    partner, _pm = app_partner
    listing = Listing.objects.create(
        partner=partner,
        name="Maps pack",
        slug="maps-pack",
        summary="Maps",
        category=Category.INTEGRATION,
        support_url="https://maps.example/support",
    )
    app, _secret = make_app(["contacts:read"])
    app.listing = listing
    app.save(update_fields=["listing"])
    for ok in (True, True, True, False):
        usage.delivery_count(listing_id=listing.pk, schema=tenant_a.schema_name, ok=ok)

    usage.usage_flush()

    row = AppUsageDay.objects.get(app=app, tenant=tenant_a)
    assert (row.deliveries_ok, row.deliveries_failed) == (3, 1)
    assert usage.app_usage(app=app).delivery_success_rate == 75.0


def test_partner_sees_sums_never_workspace_names_and_operators_see_workspaces(
    app_partner: Any, make_app: Any, admin_client: Any, tenant_a: Any
) -> None:
    partner, pm = app_partner
    app, secret = make_app(["contacts:read"])
    session = connected(app, secret, tenant_a, admin_client)
    for _ in range(2):
        session.get(host_url(tenant_a, "/api/v1/contacts/"))
    usage.usage_flush()
    use_public_schema()
    portal = Client(HTTP_HOST="localhost")
    portal.force_login(pm.user, backend="tenants.auth.EmailBackend")
    operator = User.objects.create_superuser("op-usage@example.com", "operator-pass-123", name="Operator")
    console = Client(HTTP_HOST="localhost")
    console.force_login(operator)

    page = portal.get(f"/partner-portal/{partner.slug}/apps/{app.pk}/").content.decode()
    admin_page = console.get(f"/admin/marketplace_apps/app/{app.pk}/change/").content.decode()

    assert '<dd data-usage="installed">1</dd>' in page
    assert '<dd data-usage="api_calls">2</dd>' in page
    assert '<dd data-usage="workspaces_calling">1</dd>' in page
    assert tenant_a.name not in page
    assert tenant_a.schema_name not in page
    assert f'data-usage-workspace="{tenant_a.schema_name}"' in admin_page
    assert tenant_a.name in admin_page


def test_another_partner_cannot_see_an_apps_usage(make_app: Any) -> None:
    app, _secret = make_app(["contacts:read"])
    other = Partner.objects.create(slug="nosy-co", name="Nosy Co")
    nosy = PartnerMember.objects.create(partner=other, user=make_user(name="Nosy"), role=PartnerRole.OWNER)
    client = Client(HTTP_HOST="localhost")
    client.force_login(nosy.user, backend="tenants.auth.EmailBackend")

    assert client.get(f"/partner-portal/{other.slug}/apps/{app.pk}/").status_code == 404
    assert client.get(f"/partner-portal/{app.partner.slug}/apps/{app.pk}/").status_code == 404


def test_settled_webhook_deliveries_of_the_linked_listing_are_counted(
    app_partner: Any,
    make_app: Any,
    tenant_a: Any,
    admin_of: Any,
    receiver: Any,  # noqa: F811
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    partner, _pm = app_partner
    listing = Listing.objects.create(
        partner=partner,
        name="Hooks",
        slug="hooks-pack",
        summary="Hooks",
        category=Category.INTEGRATION,
        support_url="https://hooks.example/support",
    )
    app, _secret = make_app(["contacts:read"])
    App.objects.filter(pk=app.pk).update(listing=listing)
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        extension_install(
            actor=admin, listing_id=listing.pk, slug="hooks", name="Hooks", manifest=hooks_manifest(receiver.url)
        )
        settings.WEBHOOKS_ALLOW_PRIVATE = True  # delivered to the local receiver
        with django_capture_on_commit_callbacks(execute=True):
            engine.record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Delivered"})
        settings.WEBHOOKS_ALLOW_PRIVATE = False  # refused: a private address, settled at once
        with django_capture_on_commit_callbacks(execute=True):
            engine.record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Refused"})
        statuses = sorted(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses == [DeliveryStatus.REFUSED, DeliveryStatus.SUCCEEDED]

    usage.usage_flush()

    row = AppUsageDay.objects.get(app=app, tenant=tenant_a)
    assert (row.api_calls, row.deliveries_ok, row.deliveries_failed) == (0, 1, 1)


def test_an_unreachable_redis_slows_one_call_then_counting_backs_off(
    make_app: Any, admin_client: Any, tenant_a: Any, settings: Any, monkeypatch: Any, caplog: Any
) -> None:
    # Given a Redis address that accepts connections and never answers (a blackholed Redis)
    app, secret = make_app(["contacts:read"])
    on_a = connected(app, secret, tenant_a, admin_client)
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(128)
    port = blackhole.getsockname()[1]
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5, socket_timeout=0.5)
    live = usage.redis_client()
    settings.APP_USAGE_BACKOFF_SECONDS = 2
    caplog.set_level(logging.WARNING, logger="marketplace.apps.usage")
    try:
        monkeypatch.setattr(usage, "redis_client", lambda **_kw: dead)

        # When the app calls the API, then counting is asked for again and again
        started = time.monotonic()
        first = on_a.get(host_url(tenant_a, "/api/v1/contacts/"))
        first_took = time.monotonic() - started
        started = time.monotonic()
        for _ in range(50):
            usage.api_call_count(app_id=app.pk, tenant_id=tenant_a.pk)
        backed_off_took = time.monotonic() - started

        # Then the call succeeds after one wait for Redis's timeout; later counts skip Redis at once
        assert first.status_code == 200
        assert first_took >= 0.5
        assert backed_off_took < 0.2
        warnings = [r for r in caplog.records if "not counting" in r.getMessage()]
        assert len(warnings) == 1
        assert not live.hexists(usage._key(timezone.now().date()), f"a:{app.pk}:{tenant_a.pk}")

        # And once the back-off is over with Redis back, counting resumes
        monkeypatch.setattr(usage, "redis_client", lambda **_kw: live)
        time.sleep(2.1)
        usage.api_call_count(app_id=app.pk, tenant_id=tenant_a.pk)
        assert live.hget(usage._key(timezone.now().date()), f"a:{app.pk}:{tenant_a.pk}") == b"1"
        assert usage._skip_until == 0.0
    finally:
        blackhole.close()
