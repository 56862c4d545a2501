"""Demo data of the calendar: it must never email the real colleagues who own it."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine.sample_data import SampleContext
from crm_apps.modules.calendar.models import Event, EventReminder
from crm_apps.modules.calendar.sample import events_sample

pytestmark = pytest.mark.django_db


def test_sample_events_have_no_reminders(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    colleague = member(tenant_a)
    with tenant_context(tenant_a):
        ctx = SampleContext(admin=admin, owners=[admin, colleague], rng=random.Random(7), today=dt.date(2027, 3, 1))

        events_sample(ctx)

        assert Event.objects.count() == 4
        assert Event.objects.exclude(rrule="").exists()
        assert not EventReminder.objects.exists()
