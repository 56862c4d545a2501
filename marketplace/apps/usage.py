"""Usage statistics of OAuth apps, counted off the request path.

Counting: every API call authenticated with an app's token adds one to a field of a Redis hash per UTC day
(`HINCRBY`, one pipelined round trip with its `EXPIRE`); every settled delivery of an extension webhook
(delivered, or failed / refused for good) adds one to the same day's hash under its listing and schema. The beat task
`marketplace_apps.usage_flush_task` copies the hashes of today and yesterday into `AppUsageDay` rows (the
hash holds the day's running total, so the copy *sets* the value: flushing twice never counts twice).
A delivery counts for every app linked to the extension's listing.

Degrading safely: with Redis down calls are not counted (and never refused for it); after a failure a process
skips counting for `APP_USAGE_BACKOFF_SECONDS` (one warning), so an unreachable Redis does not slow every
call by its timeouts; the hashes live
`KEEP_DAYS`, so a beat outage shorter than that loses nothing.

Who sees what (docs/marketplace-apps.md): partners see only sums over all workspaces and the number of
workspaces; never a workspace's name, address or id (the consent screen does not tell administrators
that the partner learns who they are). Operators see the per-workspace rows in the console.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from marketplace.apps.models import App, AppInstallation, AppUsageDay
from saas.redis_clients import redis_client
from tenants.models import Tenant

logger = logging.getLogger(__name__)

KEEP_DAYS = 3


def _key(day: dt.date) -> str:
    # One hash per day for all tenants (KEY_PREFIX keeps test runs and deployments apart).
    return f"appusage:{settings.CACHES['default'].get('KEY_PREFIX', '')}:{day.isoformat()}"


# Per process: until this `time.monotonic()` instant counting is skipped, after a Redis failure (a blackholed
# Redis would otherwise add its connect and read timeouts, with retries, to every app API call).
_skip_until = 0.0


def _hit(field_name: str) -> None:
    global _skip_until
    now = time.monotonic()
    if now < _skip_until:
        return
    key = _key(timezone.now().date())
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.hincrby(key, field_name, 1)
        pipe.expire(key, KEEP_DAYS * 86400)
        pipe.execute()
    except redis.RedisError:
        backoff = float(settings.APP_USAGE_BACKOFF_SECONDS)
        _skip_until = time.monotonic() + backoff
        logger.warning("app usage: Redis unreachable, not counting for %.0f s", backoff, exc_info=True)
        return
    if _skip_until:
        _skip_until = 0.0
        logger.info("app usage: Redis reachable again, counting")


def api_call_count(*, app_id: int, tenant_id: int) -> None:
    """One API call of the app in the workspace (called by the token authentication)."""
    _hit(f"a:{app_id}:{tenant_id}")


def delivery_count(*, listing_id: int, schema: str, ok: bool) -> None:
    """One settled delivery of the listing's extension in the workspace (named by schema: delivery tasks run
    in a schema context, which knows no tenant id)."""
    _hit(f"l:{listing_id}:{schema}:{'ok' if ok else 'fail'}")


def usage_flush(*, days: tuple[dt.date, ...] | None = None) -> int:
    """Copy the day hashes (today and yesterday by default) into `AppUsageDay`; returns rows written."""
    today = timezone.now().date()
    written = 0
    for day in days or (today - dt.timedelta(days=1), today):
        try:
            raw = redis_client().hgetall(_key(day))
        except redis.RedisError:
            logger.warning("app usage: Redis unreachable, flush postponed", exc_info=True)
            return written
        totals: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
        listing_counts: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
        for name, value in raw.items():
            parts = (name.decode() if isinstance(name, bytes) else str(name)).split(":")
            if parts[0] == "a" and len(parts) == 3:
                totals[(int(parts[1]), int(parts[2]))]["api_calls"] = int(value)
            elif parts[0] == "l" and len(parts) == 4:
                column = "deliveries_ok" if parts[3] == "ok" else "deliveries_failed"
                listing_counts[(int(parts[1]), parts[2])][column] = int(value)
        if listing_counts:
            tenant_ids = dict(
                Tenant.objects.filter(schema_name__in={schema for _l, schema in listing_counts}).values_list(
                    "schema_name", "pk"
                )
            )
            apps_by_listing: dict[int, list[int]] = defaultdict(list)
            for app_id, listing_id in App.objects.filter(
                listing_id__in={listing for listing, _t in listing_counts}
            ).values_list("pk", "listing_id"):
                apps_by_listing[listing_id].append(app_id)
            for (listing_id, schema), values in listing_counts.items():
                tenant_id = tenant_ids.get(schema)
                if tenant_id is None:
                    continue  # the workspace is gone
                for app_id in apps_by_listing.get(listing_id, []):
                    totals[(app_id, tenant_id)].update(values)
        known_apps = set(App.objects.filter(pk__in={a for a, _t in totals}).values_list("pk", flat=True))
        rows = [
            AppUsageDay(app_id=app_id, tenant_id=tenant_id, day=day, **values)
            for (app_id, tenant_id), values in totals.items()
            if app_id in known_apps
        ]
        for row in rows:  # few rows a day per app; an upsert each keeps the copy exact
            AppUsageDay.objects.update_or_create(
                app_id=row.app_id,
                tenant_id=row.tenant_id,
                day=day,
                defaults={
                    k: getattr(row, k)
                    for k in ("api_calls", "deliveries_ok", "deliveries_failed")
                    if k in totals[(row.app_id, row.tenant_id)]
                },
            )
        written += len(rows)
    return written


@dataclass
class UsageDay:
    day: dt.date
    api_calls: int = 0
    deliveries_ok: int = 0
    deliveries_failed: int = 0
    installs: int = 0
    uninstalls: int = 0


@dataclass
class AppUsage:
    """What a partner sees: sums over workspaces, never which workspaces."""

    days: list[UsageDay]
    installed: int
    uninstalled: int
    workspaces_calling: int
    api_calls: int
    deliveries_ok: int
    deliveries_failed: int
    per_workspace: list[dict[str, Any]] = field(default_factory=list)

    @property
    def delivery_success_rate(self) -> float | None:
        settled = self.deliveries_ok + self.deliveries_failed
        return round(100 * self.deliveries_ok / settled, 1) if settled else None


def app_usage(*, app: App, days: int = 30, per_workspace: bool = False) -> AppUsage:
    """The app's last `days` days (UTC), sandboxes left out. `per_workspace` (operators only) adds the
    workspaces' rows."""
    since = timezone.now().date() - dt.timedelta(days=days - 1)
    series = {since + dt.timedelta(days=n): UsageDay(day=since + dt.timedelta(days=n)) for n in range(days)}
    # Partner sandboxes are development, not use: left out everywhere.
    rows = AppUsageDay.objects.filter(app=app, day__gte=since, tenant__is_sandbox=False)
    for day, calls, ok, failed in rows.values_list("day").annotate(
        calls=Sum("api_calls"), ok=Sum("deliveries_ok"), failed=Sum("deliveries_failed")
    ):
        item = series[day]
        item.api_calls, item.deliveries_ok, item.deliveries_failed = calls, ok, failed
    installations = AppInstallation.objects.filter(app=app, tenant__is_sandbox=False)
    for installed_day, n in (
        installations.filter(installed_at__date__gte=since)
        .annotate(d=TruncDate("installed_at"))
        .values_list("d")
        .annotate(n=Count("pk"))
    ):
        series[installed_day].installs = n
    for uninstalled_day, n in (
        installations.filter(uninstalled_at__date__gte=since)
        .annotate(d=TruncDate("uninstalled_at"))
        .values_list("d")
        .annotate(n=Count("pk"))
    ):
        series[uninstalled_day].uninstalls = n
    states = installations.aggregate(
        installed=Count("pk", filter=Q(state="installed")), uninstalled=Count("pk", filter=Q(state="uninstalled"))
    )
    listed = list(series.values())
    usage = AppUsage(
        days=listed,
        installed=states["installed"],
        uninstalled=states["uninstalled"],
        workspaces_calling=rows.filter(api_calls__gt=0).values("tenant").distinct().count(),
        api_calls=sum(d.api_calls for d in listed),
        deliveries_ok=sum(d.deliveries_ok for d in listed),
        deliveries_failed=sum(d.deliveries_failed for d in listed),
    )
    if per_workspace:
        usage.per_workspace = [
            dict(row)
            for row in rows.values("tenant__name", "tenant__schema_name")
            .annotate(calls=Sum("api_calls"), ok=Sum("deliveries_ok"), failed=Sum("deliveries_failed"))
            .order_by("-calls", "tenant__name")
        ]
    return usage
