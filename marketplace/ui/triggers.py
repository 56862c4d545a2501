"""Workflow triggers contributed by installed apps (manifest `workflow_triggers`).

The designer offers each declared trigger on its modules as "<label> (<app name>)", type
`app.<extension>.<key>` (crm_apps.automation.action_types.trigger_provider_add). The app reports that
its event happened with `POST /marketplace/app/trigger`, body `{"trigger": "<key>", "module": "...",
"records": ["<id>", ...], "data": {...}}`, headers `X-CRM-Installation: <installation id>` and
`X-CRM-Signature: t=<unix>,v1=<hex HMAC-SHA256(app secret, "<t>.<body>")>` (the same scheme as the
platform's own deliveries, within 5 minutes). Every enabled workflow of that module with that trigger
then runs for each record, seeing `data` as `steps.trigger`.

Refused (4xx, nothing queued): a wrong, old or missing signature; the same signed report again (409:
each report is accepted once); more reports than the app's per-minute budget (429, `Retry-After`); an
installation that is not installed here, suspended, or of another workspace; a trigger the app does not
declare for the module; more than 100 records, ids of no live record of the module, `data` that is not
an object or over 16 KB.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm_apps.automation.action_types import ExternalTrigger
from crm_apps.engine import registry
from marketplace.ui.panels import InstalledApp, active_apps
from saas.webhooks import signature_header_valid

MAX_RECORDS = 100
MAX_DATA = 16 * 1024
TOLERANCE = 300


def trigger_type(app: InstalledApp, key: str) -> str:
    return f"app.{app.slug}.{key}"


def app_triggers_for(module: str) -> list[ExternalTrigger]:
    """automation provider: the active apps' triggers declared for `module`."""
    from tenants.runtime import in_public_schema

    if in_public_schema():
        return []
    return [
        ExternalTrigger(type=trigger_type(app, item["key"]), label=f"{item['label']} ({app.name})")
        for app in active_apps()
        for item in app.manifest.get("workflow_triggers") or []
        if module in item["modules"]
    ]


class TriggerRefused(Exception):
    def __init__(self, status: int, errors: dict[str, list[str]]) -> None:
        self.status = status
        self.errors = errors
        super().__init__(str(errors))


def signature_valid(secret: str, body: bytes, header: str, *, now: float | None = None) -> bool:
    """`t=<unix>,v1=<hex>` over "<t>.<body>" with the app secret, at most TOLERANCE seconds old or ahead
    (ASCII digits and lowercase hex only: anything else is refused, never an error)."""
    return signature_header_valid(secret, body, header, tolerance=TOLERANCE, now=now)


def first_delivery(app: InstalledApp, signature: str) -> bool:
    """A signed report is accepted once: the same (installation, signature) again within the signature's
    lifetime (twice TOLERANCE: a timestamp may be that far ahead or behind) is a replay."""
    from django.core.cache import cache

    digest = hashlib.sha256(signature.strip().encode()).hexdigest()
    return bool(cache.add(f"apptrigger:{app.installation_id}:{digest}", 1, timeout=2 * TOLERANCE + 5))


def trigger_app(*, installation: str, signature: str, body: bytes) -> InstalledApp:
    """The active app whose secret signed this report (TriggerRefused 401 if none)."""
    app = next((a for a in active_apps() if str(a.installation_id) == installation.strip()), None)
    if app is None or not signature_valid(app.secret, body, signature):
        raise TriggerRefused(401, {"signature": [_("Missing or wrong signature.")]})
    return app


def trigger_report(*, app: InstalledApp, signature: str, body: bytes) -> tuple[str, str, list[str], dict[str, Any]]:
    """Check an app's report of its event (signed by `app`, see trigger_app); (trigger type, module,
    record ids, data) or TriggerRefused. A replayed report is refused (409)."""
    if not first_delivery(app, signature):
        raise TriggerRefused(409, {"signature": [_("This report was received already; sign each report anew.")]})
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        raise TriggerRefused(400, {"non_field_errors": [_("Send a JSON object.")]})
    errors: dict[str, list[str]] = {}
    module = payload.get("module")
    declared = next(
        (
            item
            for item in app.manifest.get("workflow_triggers") or []
            if item["key"] == payload.get("trigger") and module in item["modules"]
        ),
        None,
    )
    if declared is None:
        errors["trigger"] = [_("The app declares no such trigger for this module.")]
    records = payload.get("records")
    if not isinstance(records, list) or not 1 <= len(records) <= MAX_RECORDS:
        errors["records"] = [_("Give 1 to %(n)d record ids.") % {"n": MAX_RECORDS}]
    data = payload.get("data", {})
    if not isinstance(data, dict) or len(json.dumps(data)) > MAX_DATA:
        errors["data"] = [_("Send an object of at most 16 KB.")]
    if errors:
        raise TriggerRefused(400, errors)
    assert declared is not None and isinstance(records, list)
    spec = registry.get(str(module))
    key_field = spec.model._meta.pk
    wanted: list[str] = []
    try:
        for raw in records:
            wanted.append(str(key_field.to_python(raw)))
    except (ValueError, ValidationError, TypeError):
        raise TriggerRefused(400, {"records": [_("Give ids of records of this module.")]}) from None
    live = {
        str(pk) for pk in spec.records().filter(pk__in=wanted, deleted_at__isnull=True).values_list("pk", flat=True)
    }
    missing = [one for one in wanted if one not in live]
    if missing:
        raise TriggerRefused(400, {"records": [_("No such records: %(ids)s.") % {"ids": ", ".join(missing[:5])}]})
    return trigger_type(app, declared["key"]), str(module), list(dict.fromkeys(wanted)), data
