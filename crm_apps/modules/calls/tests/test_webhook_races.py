"""Concurrent deliveries of one call, with committed data and one connection per delivery."""

from __future__ import annotations

import threading

from django_tenants.utils import tenant_context

from crm_apps.modules.calls.models import Call
from crm_apps.modules.calls.services import CallEvent, telephony_event_apply


def test_concurrent_deliveries_of_one_call_make_one_row(committed):
    """Four deliveries of a new call at the same moment: one creates it, three update it."""
    import datetime as dt

    from django.db import connections

    from conftest import make_user
    from tenants.services import tenant_provision

    tenant = tenant_provision(slug=committed.slug("calls"), name="Calls", admin=make_user(committed.email()))
    event = CallEvent(
        call_id="race-1",
        status="ringing",
        timestamp=dt.datetime(2027, 1, 11, 9, 30, tzinfo=dt.UTC),
        from_number="+14155550132",
    )
    barrier = threading.Barrier(4)
    created: list[bool] = []
    errors: list[BaseException] = []

    def deliver_once() -> None:
        with tenant_context(tenant):
            barrier.wait()
            try:
                created.append(telephony_event_apply(event=event)[1])
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)
            finally:
                connections.close_all()

    threads = [threading.Thread(target=deliver_once) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sorted(created) == [False, False, False, True]
    with tenant_context(tenant):
        assert Call.objects.filter(provider_call_id="race-1").count() == 1
