"""Beat tasks of OAuth apps."""

from __future__ import annotations

from saas.celery import app


@app.task(name="marketplace_apps.usage_flush_task")
def usage_flush_task() -> int:
    """Copy the apps' usage counters of today and yesterday from Redis into `AppUsageDay` (usage.py)."""
    from marketplace.apps.usage import usage_flush

    return usage_flush()
