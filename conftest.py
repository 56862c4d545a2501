"""Shared fixtures: two session-wide tenants, members, host-bound clients, committed-data helpers.

Most tests run inside a transaction that is rolled back (pytest-django's `db`). Tenant schemas
are costly to create, so `alpha` and `beta` are created once per test session and shared, and a
small warm pool (tenants/pool.py) and its template are made once: a test that signs up claims a pool schema, and its
rollback gives the schema back, so signups in tests cost milliseconds instead of a migration run.
Tests that need data visible to other connections (threads, a live server, a Celery worker)
use `committed` and clean up what they create.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from crm_apps.access.models import Member
from crm_apps.access.services import member_create
from tenants.models import Tenant, User
from tenants.pool import pool_template_ensure, tenant_pool_fill
from tenants.runtime import use_public_schema
from tenants.services import tenant_delete, tenant_provision

TEST_PASSWORD = "correct-horse-battery-9"
SHARED_TENANTS = {"alpha": "Alpha Ltd", "beta": "Beta GmbH"}
# Ready pool schemas per test database (two concurrent committed signups may each take one).
TEST_POOL_SIZE = 2
_counter = itertools.count()


def host_of(tenant: Tenant | None) -> str:
    return f"{tenant.schema_name}.localhost" if tenant else "localhost"


def make_user(email: str | None = None, name: str = "Test Person") -> User:
    email = email or f"user{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"
    return User.objects.create_user(email, TEST_PASSWORD, name=name)


def statements(captured: Any) -> list[str]:
    """The SQL of a CaptureQueriesContext without the two routing statements whose presence depends only
    on what served before: `SET search_path` (issued when the schema changes) and the host lookup
    (remembered per process until a tenant or domain changes, tenants.runtime.tenant_for_host)."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith("SET search_path") and 'FROM "tenants_domain"' not in q["sql"]
    ]


def sign_in(client: Client, member: Member) -> None:
    """What member_login does, for a test client (call inside the member's schema)."""
    from crm_apps.access.middleware import SESSION_EPOCH_KEY
    from crm_apps.access.models import MemberSession
    from crm_apps.access.sessions import SEEN_KEY

    client.force_login(member.user, backend="tenants.auth.EmailBackend")
    session = client.session
    session[SESSION_EPOCH_KEY] = member.session_epoch
    session[SEEN_KEY] = int(time.time())  # recorded at sign-in, as member_login does
    session.save()
    MemberSession.objects.update_or_create(session_key=session.session_key, defaults={"member": member})


def shared_on_unlimited_plan(slugs: list[str]) -> None:
    from billing.models import Plan, Subscription

    unlimited = Plan.objects.get(code="enterprise")
    Subscription.objects.filter(tenant__schema_name__in=slugs).update(plan=unlimited)
    Tenant.objects.filter(schema_name__in=slugs).update(plan_code=unlimited.code)


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_keepdb: bool,
    django_db_createdb: bool,
    django_db_modify_db_settings: None,
) -> Iterator[None]:
    """Create the test database (always: tests with committed data need it too) and two tenants."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            keepdb=django_db_keepdb and not django_db_createdb,
            aliases={"default"},  # type: ignore[arg-type]
        )
        use_public_schema()
        pool_template_ensure()  # alpha and beta are copies of it (the fallback path)
        for slug, name in SHARED_TENANTS.items():
            if not Tenant.objects.filter(schema_name=slug).exists():
                admin = make_user(f"admin@{slug}.example.com", name=f"{name} Admin")
                tenant_provision(slug=slug, name=name, admin=admin)
        # Suites that are not about billing must not meet its limits: the shared tenants are on the
        # plan without limits and with every feature. Billing tests put them back on the default plan.
        shared_on_unlimited_plan(list(SHARED_TENANTS))
        tenant_pool_fill(target=TEST_POOL_SIZE)
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            use_public_schema()
            with connection.cursor() as cursor:  # stray live-server or worker connections
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


@pytest.fixture(autouse=True)
def _public_schema_between_tests() -> Iterator[None]:
    """Requests switch the connection's schema; every test starts and ends in `public`, and with no
    memoised CRM metadata (tests call services outside requests, and roll their writes back)."""
    from django.utils import translation

    from billing.entitlements import plans_forget
    from crm_apps.engine.metadata import metadata_cache_reset
    from saas.cache_versions import versions_memo_clear
    from tenants.runtime import forget_domains

    use_public_schema()
    metadata_cache_reset()
    versions_memo_clear()
    forget_domains()
    plans_forget()
    yield
    metadata_cache_reset()
    versions_memo_clear()
    forget_domains()
    plans_forget()
    use_public_schema()
    # A request as a Russian-speaking member (or visitor) leaves Russian active in this thread.
    translation.deactivate()


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Cache entries live in Redis, outside the rolled-back transaction: drop this worker's keys."""
    yield
    from django.conf import settings
    from django.core.cache import cache

    from crm_apps.engine.board_html import cards_forget
    from crm_apps.engine.list_rows import rows_forget
    from crm_apps.engine.selectors import statements_clear
    from saas.cache_versions import remembered_local_clear

    remembered_local_clear()
    statements_clear()
    rows_forget()
    cards_forget()
    client = cache._cache.get_client()  # type: ignore[attr-defined]
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"*:{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def media_root(tmp_path: Any, settings: Any) -> Iterator[Any]:
    """A fresh MEDIA_ROOT; the storage objects are rebuilt (django-tenants caches the old root)."""
    from django.core.files.storage import default_storage, storages
    from django.utils.functional import empty

    def reset() -> None:
        storages._storages = {}  # type: ignore[attr-defined]
        default_storage._wrapped = empty  # type: ignore[attr-defined]

    settings.MEDIA_ROOT = str(tmp_path)
    reset()
    yield tmp_path
    reset()


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    return Tenant.objects.get(schema_name="alpha")


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    return Tenant.objects.get(schema_name="beta")


@pytest.fixture
def member() -> Callable[..., Member]:
    """member(tenant, is_admin=False, email=None, active=True, role=None) -> a new Member of that tenant
    (in `role`, else the tenant's default role for new members)."""

    def make(
        tenant: Tenant, *, is_admin: bool = False, email: str | None = None, active: bool = True, role: Any = None
    ) -> Member:
        user = User.objects.filter(email=email).first() if email else None
        user = user or make_user(email)
        with schema_context(tenant.schema_name):
            m = member_create(tenant=tenant, user=user, is_admin=is_admin, role=role)
            if not active:
                Member.objects.filter(pk=m.pk).update(active=False)
                m.refresh_from_db()
        return m

    return make


@pytest.fixture
def admin_of() -> Callable[[Tenant], Member]:
    def get(tenant: Tenant) -> Member:
        with schema_context(tenant.schema_name):
            return Member.objects.select_related("user").filter(is_admin=True).order_by("id").first()  # type: ignore[return-value]

    return get


@pytest.fixture
def client_for() -> Callable[..., Client]:
    """client_for(tenant, member=None) -> a test client on the tenant's host, signed in as `member`."""

    def make(tenant: Tenant | None, member: Member | None = None, **kwargs: Any) -> Client:
        client = Client(HTTP_HOST=host_of(tenant), **kwargs)
        if member is not None and tenant is not None:
            with schema_context(tenant.schema_name):
                sign_in(client, member)
        return client

    return make


@pytest.fixture
def public_client(db: None) -> Client:
    return Client(HTTP_HOST="localhost")


class CommittedData:
    """Creates tenants and users outside the test transaction and removes them afterwards.

    Committed signups leave the session's pool alone (they copy the template, the pool's other
    fallback) unless a test sets `use_pool`; the pool is then refilled afterwards.
    """

    def __init__(self) -> None:
        self.slugs: list[str] = []
        self.emails: list[str] = []
        self.use_pool = False

    def slug(self, prefix: str = "t") -> str:
        value = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.slugs.append(value)
        return value

    def email(self) -> str:
        value = f"c{uuid.uuid4().hex[:10]}@example.com"
        self.emails.append(value)
        return value

    def cleanup(self) -> None:
        use_public_schema()
        for slug in self.slugs:
            tenant = Tenant.objects.filter(schema_name=slug).first()
            if tenant is not None:
                tenant_delete(tenant=tenant, drop_schema=True)
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{slug}" CASCADE')
        User.objects.filter(email__in=self.emails).delete()
        if self.use_pool:
            tenant_pool_fill(target=TEST_POOL_SIZE)  # put back what committed signups claimed


@pytest.fixture
def committed(
    django_db_setup: None, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CommittedData]:
    """Autocommit database access for tests whose data must be seen by other connections."""
    import tenants.services

    if connection.in_atomic_block:  # a django_db mark wraps the test in a transaction the clean-up would share
        pytest.fail("the committed fixture needs a test without a django_db mark: its clean-up would roll back")
    data = CommittedData()
    claim = tenants.services.pool_schema_claim
    monkeypatch.setattr(tenants.services, "pool_schema_claim", lambda **kw: data.use_pool and claim(**kw))
    with django_db_blocker.unblock():
        use_public_schema()
        try:
            yield data
        finally:
            data.cleanup()
