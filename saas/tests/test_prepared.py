"""`saas.prepared.Prepared`: a queryset compiled once per process gives what the queryset gives, in one
statement, for every tenant from its own schema, and refuses shapes it cannot run safely."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from conftest import statements
from crm_apps.access.models import ApiToken, Member
from crm_apps.access.selectors import member_for_user
from crm_apps.access.services import api_token_authenticate, api_token_create
from saas.prepared import Compiled, Prepared
from tenants.auth import EmailBackend

pytestmark = pytest.mark.django_db


def by_user(user_id):
    return Member.objects.select_related("user").filter(user_id=user_id, active=True).order_by()[:1]


def test_prepared_gives_what_the_queryset_gives_in_one_statement(tenant_a, member):
    # Given two members of one workspace, one of them deactivated
    ada = member(tenant_a, email="ada.prepared@example.com")
    gone = member(tenant_a, email="gone.prepared@example.com", active=False)
    prepared = Prepared(by_user, {"user_id": -7_654_321})
    with schema_context(tenant_a.schema_name):
        # When each is looked up the prepared way, twice (compiled the first time, reused the second)
        with CaptureQueriesContext(connection) as captured:
            first = prepared.first(user_id=ada.user_id)
            again = prepared.first(user_id=ada.user_id)
            missing = prepared.first(user_id=gone.user_id)
        expected = by_user(ada.user_id)[0]
        # Then the same rows, fields and related user as the queryset's, one statement per call
        assert again is not None
        with CaptureQueriesContext(connection) as related:
            email = again.user.email
        listed = prepared.list(user_id=ada.user_id)
    assert first is not None and again is not None and first is not again
    assert [(f.attname, getattr(first, f.attname)) for f in Member._meta.concrete_fields] == [
        (f.attname, getattr(expected, f.attname)) for f in Member._meta.concrete_fields
    ]
    assert first._state.adding is False and first._state.db == "default"
    assert email == "ada.prepared@example.com" and statements(related) == []
    assert missing is None and listed == [first]
    assert len(statements(captured)) == 3


def test_one_compiled_statement_reads_each_workspace_own_rows(tenant_a, tenant_b, member):
    # Given the same person in two workspaces, with a token in the first only
    ada_a = member(tenant_a, email="ada.both@example.com")
    ada_b = member(tenant_b, email="ada.both@example.com")
    with schema_context(tenant_a.schema_name):
        token, key = api_token_create(member=ada_a, name="prepared")
        found_a = api_token_authenticate(key=key)
        member_a = member_for_user(user_id=ada_a.user_id)
    # When the token and the member are looked up on the other workspace with the same compiled statements
    with schema_context(tenant_b.schema_name):
        found_b = api_token_authenticate(key=key)
        member_b = member_for_user(user_id=ada_b.user_id)
        tokens_b = ApiToken.objects.count()
    # Then each workspace answers from its own schema: the token is not the other workspace's
    assert found_a is not None and found_a.pk == token.pk and found_a.member.pk == ada_a.pk
    assert found_b is None and tokens_b == 0
    assert member_a is not None and member_a.pk == ada_a.pk
    assert member_b is not None and member_b.pk == ada_b.pk


def test_deactivated_user_and_member_are_not_found(tenant_a, member):
    ada = member(tenant_a, email="ada.deactivated@example.com")
    backend = EmailBackend()
    with schema_context(tenant_a.schema_name):
        _token, key = api_token_create(member=ada, name="prepared")
        assert api_token_authenticate(key=key) is not None
        assert backend.get_user(ada.user_id) is not None and backend.get_user(str(ada.user_id)) is not None
        Member.objects.filter(pk=ada.pk).update(active=False)
        assert api_token_authenticate(key=key) is None
        assert member_for_user(user_id=ada.user_id) is None
        Member.objects.filter(pk=ada.pk).update(active=True)
        type(ada.user).objects.filter(pk=ada.user_id).update(is_active=False)
        assert api_token_authenticate(key=key) is None
        assert member_for_user(user_id=ada.user_id) is None
        assert backend.get_user(ada.user_id) is None
        assert backend.get_user("not a number") is None and backend.get_user(-1) is None


def test_shapes_it_cannot_run_are_refused():
    # A sample value that appears twice among the parameters cannot be told apart: refused when compiled
    twice = Prepared(lambda n: Member.objects.filter(pk=n, user_id=n), {"n": -5})
    with pytest.raises(ValueError, match="appears 2 times"):
        twice.first(n=1)
    # and a call with other names than the sample's is a programming error
    prepared = Prepared(by_user, {"user_id": -7_654_321})
    with pytest.raises(TypeError):
        prepared.first(pk=1)


def test_sessions_are_read_from_the_workspace_own_table_and_expire(tenant_a, tenant_b, admin_of, client_for):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from saas.session_store import SessionStore

    admin = admin_of(tenant_a)
    web = client_for(tenant_a, admin)
    key = web.cookies["sessionid"].value
    with schema_context(tenant_a.schema_name):
        assert SessionStore(session_key=key).load()["_auth_user_id"] == str(admin.user_id)
    with schema_context(tenant_b.schema_name):
        elsewhere = SessionStore(session_key=key)
        assert elsewhere.load() == {} and elsewhere.session_key is None
    with schema_context(tenant_a.schema_name):
        Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
        expired = SessionStore(session_key=key)
        assert expired.load() == {} and expired.session_key is None
    # and the expired session no longer signs anyone in
    assert web.get("/m/contacts/").status_code == 302


def _snapshot(obj, depth=0):
    """What an instance holds: its values, deferred fields, state and the related rows it carries."""
    values = {k: v for k, v in obj.__dict__.items() if k != "_state"}
    cached = {
        name: _snapshot(rel, depth + 1) if rel is not None and depth < 2 else rel is None
        for name, rel in obj._state.fields_cache.items()
    }
    return values, obj.get_deferred_fields(), obj._state.adding, obj._state.db, cached


def test_compiled_instances_are_what_the_orm_makes(tenant_a, admin_of):
    """`Compiled` fills the instances' __dict__ instead of running Model.__init__ per field: every column, a few
    columns with joined rows (deferred fields stay deferred), and annotations give what Django's iterator gives."""
    from django.db.models import Exists, OuterRef

    from crm_apps.engine import registry, services
    from crm_apps.engine.models import Follow
    from saas.prepared import Compiled

    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        org = services.record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Snap Org"})
        services.record_create(
            spec=contacts, actor=admin, data={"last_name": "Snap", "email": "s@example.com", "organization": org.pk}
        )
        services.record_create(spec=contacts, actor=admin, data={"last_name": "Shot"})
        model = contacts.model
        shapes = [
            model.objects.order_by("last_name"),
            model.objects.select_related("organization", "owner__user")
            .only("id", "last_name", "organization__name", "owner__user__email")
            .order_by("last_name"),
            model.objects.annotate(followed=Exists(Follow.objects.filter(record_id=OuterRef("pk")))).order_by(
                "last_name"
            ),
        ]
        for queryset in shapes:
            compiled = Compiled(queryset)
            assert compiled._plain  # the fast path is the one under test, joined rows included
            assert all(type(p).__name__ == "_PlainPopulator" for p in compiled._populators)
            fast, orm = compiled.run(), list(queryset)
            assert [_snapshot(o) for o in fast] == [_snapshot(o) for o in orm]
            assert [o.organization.name if o.organization_id else None for o in fast] == [None, "Snap Org"]
        # A deferred field is read on access, as on an ORM instance.
        light = Compiled(model.objects.only("id").order_by("last_name")).run()
        assert light[0].get_deferred_fields() and light[0].last_name == "Shot"


def test_rows_joining_the_same_record_share_its_instance_within_one_run(tenant_a, admin_of, member):
    """As a prefetch would: one owner (and their user) per result set, not one per row; each run its own."""
    from crm_apps.engine import registry, services

    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        other = member(tenant_a, email="other.owner@example.com")
        for name in ("Share1", "Share2", "Share3"):
            services.record_create(spec=contacts, actor=admin, data={"last_name": name})
        services.record_create(spec=contacts, actor=admin, data={"last_name": "Share4", "owner": other.pk})
        queryset = (
            contacts.model.objects.filter(last_name__startswith="Share")
            .select_related("owner__user", "organization")
            .order_by("last_name")
        )
        compiled = Compiled(queryset)
        first, second = compiled.run(), compiled.run()
        orm = list(queryset)
    assert [_snapshot(o) for o in first] == [_snapshot(o) for o in orm]
    assert [o.owner.pk for o in first] == [admin.pk, admin.pk, admin.pk, other.pk]
    assert first[0].owner is first[1].owner is first[2].owner and first[3].owner is not first[0].owner
    assert first[0].owner.user is first[2].owner.user and first[0].owner.user.email == admin.user.email
    assert next(iter(first[0].owner.user._state.fields_cache.values())) is first[0].owner  # the one-to-one's reverse
    assert all(o.organization is None for o in first)
    assert second[0].owner is not first[0].owner  # nothing shared between runs


def test_statements_are_prepared_on_the_connection_and_follow_the_schema(tenant_a, tenant_b, member):
    # Given one person in two workspaces, a token in each
    ada_a = member(tenant_a, email="ada.generic@example.com")
    ada_b = member(tenant_b, email="ada.generic@example.com")
    with schema_context(tenant_a.schema_name):
        token_a, key_a = api_token_create(member=ada_a, name="generic")
    with schema_context(tenant_b.schema_name):
        token_b, key_b = api_token_create(member=ada_b, name="generic")
    # When both are looked up in turn, more often than PostgreSQL needs before it settles on a generic plan
    found = []
    for _ in range(8):
        for tenant, key in ((tenant_a, key_a), (tenant_b, key_b)):
            with schema_context(tenant.schema_name):
                token = api_token_authenticate(key=key)
                other = api_token_authenticate(key=key_b if key == key_a else key_a)
                found.append((tenant.schema_name, token.pk if token else None, other))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%"access_apitoken"."key_hash"%'],
        )
        runs = [row[0] for row in cursor.fetchall()]
    # Then every lookup read its own workspace's table (the other workspace's key is unknown there), and the
    # lookup was one statement prepared on the connection, run every time
    assert found == [(tenant_a.schema_name, token_a.pk, None), (tenant_b.schema_name, token_b.pk, None)] * 8
    assert runs and max(runs) >= 32


def test_a_statement_run_with_its_own_values_is_prepared_as_literal_sql(tenant_a, admin_of):
    # Given a compiled statement run with the values it was compiled with (a kept list statement)
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        compiled = Compiled(Member.objects.filter(pk=admin.pk, active=True).order_by())
        with CaptureQueriesContext(connection) as captured:
            rows = [compiled.run() for _ in range(3)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT statement, parameter_types FROM pg_prepared_statements WHERE statement LIKE %s",
                [f'%"access_member"."id" = {admin.pk}%'],
            )
            prepared = cursor.fetchall()
    # Then it is prepared once with its values in the text (no parameters, so its plan knows them), and the
    # query log shows each run with its values
    assert [[m.pk for m in r] for r in rows] == [[admin.pk]] * 3
    assert len(prepared) == 1 and prepared[0][1] == []
    assert statements(captured) == [prepared[0][0]] * 3


def test_a_column_type_changed_elsewhere_prepares_the_statement_again():
    import psycopg
    from django.db import connections

    from saas.prepared import execute_prepared

    # Given a web process's connection (autocommit, outside the test's transaction) with a statement prepared
    # over a table
    web: Any = connections.create_connection("default")
    web.set_schema_to_public()
    with web.cursor() as cursor:
        cursor.execute("CREATE TABLE public.prepared_probe (a integer)")
        cursor.execute("INSERT INTO public.prepared_probe VALUES (1)")
    try:
        with web.cursor() as cursor:
            first = [execute_prepared(cursor, "SELECT a FROM public.prepared_probe", None) for _ in range(2)]
        # When another process changes the column's type (a migration while web processes run)
        params = {k: v for k, v in web.get_connection_params().items() if k != "cursor_factory"}
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("ALTER TABLE public.prepared_probe ALTER a TYPE text")
        # Then the next run prepares the statement again and reads the new type, instead of failing from then on
        with web.cursor() as cursor:
            after = [execute_prepared(cursor, "SELECT a FROM public.prepared_probe", None) for _ in range(2)]
    finally:
        with web.cursor() as cursor:
            cursor.execute("DROP TABLE public.prepared_probe")
        web.close()
    assert first == [[(1,)], [(1,)]]
    assert after == [[("1",)], [("1",)]]
