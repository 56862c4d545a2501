"""Sentry set-up: Django and Celery integrations, the tenant as a tag, no personal data."""

from __future__ import annotations

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration


def sentry_init(*, dsn: str, environment: str) -> None:
    """Start the SDK with personal data collection off, so user emails and IPs are never sent."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No personal data: no user identity, request bodies, local variables or SQL parameters.
        data_collection={
            "user_info": False,
            "http_bodies": [],
            "stack_frame_variables": False,
            "database_query_data": False,
            "queues": False,  # task arguments carry email bodies (reset and invitation links)
        },
        traces_sample_rate=0.0,
    )


def sentry_tag_tenant(schema_name: str) -> None:
    """Attach the tenant to every event raised while serving it."""
    sentry_sdk.set_tag("tenant", schema_name)
