"""Two signups racing for one subdomain. Committed data (each thread's signup commits on its own connection),
so this module has no django_db mark: the committed fixture's clean-up must commit too, and inside the test
transaction it was rolled back, leaving the winner's workspace behind for later tests."""

from __future__ import annotations

import threading

from django.db import connection

from tenants.models import Domain, Tenant, User
from tenants.runtime import use_public_schema
from tenants.services import tenant_signup

PASSWORD = "analytical-engine-1843"


def test_two_concurrent_signups_for_one_subdomain_exactly_one_wins(committed):
    slug = committed.slug("race")
    emails = [committed.email(), committed.email()]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(email: str) -> None:
        from django.core.exceptions import ValidationError
        from django.db import connections

        barrier.wait()
        try:
            tenant_signup(organization="Race", subdomain=slug, name="Racer", email=email, password=PASSWORD)
            outcomes.append("won")
        except ValidationError as exc:
            outcomes.append(f"lost:{exc.message_dict}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(e,)) for e in emails]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(o.split(":")[0] for o in outcomes) == ["lost", "won"]
    assert "This subdomain is already taken." in next(o for o in outcomes if o.startswith("lost"))
    use_public_schema()
    assert Tenant.objects.filter(schema_name=slug).count() == 1
    assert Domain.objects.filter(domain=f"{slug}.localhost").count() == 1
    assert User.objects.filter(email__in=emails).count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE %s", [f"{slug}%"])
        assert cursor.fetchone() == (1,)
