"""The phone-number index: E.164 forms of the phone fields of contacts, leads and organisations.

Kept in step with the records through the engine's record events (`crm_apps.engine.events`): the
listener runs inside the write's transaction, so the index commits or rolls back with the record. A
phone field is a model field validated by `crm_apps.modules.common.phone_validator` (so new phone
fields are indexed without listing them). Custom phone fields are not indexed.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.expressions import RawSQL

from crm_apps.engine import registry
from crm_apps.engine.spec import ModuleSpec
from crm_apps.modules.calls.models import PhoneIndex
from crm_apps.modules.calls.phones import MATCH_MODULES, normalise
from crm_apps.modules.common import phone_validator


def phone_fields(spec: ModuleSpec) -> list[str]:
    """The module's standard phone fields."""
    return [
        f.name
        for f in spec.model._meta.concrete_fields
        if isinstance(f, models.CharField) and phone_validator in f.validators
    ]


def _region() -> str:
    from crm_apps.modules.calls.settings_store import telephony_settings

    return telephony_settings().default_region


def _ids_any(record_ids: list[Any]) -> RawSQL:
    """`IN (SELECT unnest(<one array parameter>))`: an import's 100,000 ids are one parameter, not
    100,000 (which Django would resolve one by one and PostgreSQL would parse as a list)."""
    return RawSQL("SELECT unnest(%s::uuid[])", ([str(i) for i in record_ids],))


def phone_index_update(*, module: str, record_ids: list[Any], region: str | None = None, new: bool = False) -> int:
    """Re-index these records' phone numbers; rows written. `new`: the records were just created, so
    they have no rows to replace."""
    if module not in MATCH_MODULES or not record_ids:
        return 0
    spec = registry.get(module)
    names = phone_fields(spec)
    region = region or _region()
    rows = []
    has_phone = Q()
    for name in names:
        has_phone |= Q(**{f"{name}__gt": ""})
    for values in spec.records().filter(has_phone, pk__in=_ids_any(record_ids)).values("pk", *names):
        seen = set()
        for name in names:
            number = normalise(values[name] or "", region=region)
            if number and number not in seen:
                seen.add(number)
                rows.append(PhoneIndex(module=module, record_id=values["pk"], field=name, number=number))
    if not new:
        PhoneIndex.objects.filter(module=module, record_id__in=_ids_any(record_ids)).delete()
    PhoneIndex.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def phone_index_rebuild(*, region: str | None = None, batch: int = 2000) -> int:
    """Re-index every record of the matched modules (a new default region, or an index built late)."""
    region = region or _region()
    total = 0
    for module in MATCH_MODULES:
        spec = registry.get(module)
        ids = list(spec.records().values_list("pk", flat=True))
        PhoneIndex.objects.filter(module=module).exclude(record_id__in=ids).delete()
        for start in range(0, len(ids), batch):
            total += phone_index_update(module=module, record_ids=ids[start : start + batch], region=region)
    return total


def on_record_event(module: str, event: str, record_ids: list[str]) -> None:
    """Engine record-event listener: created and updated records are re-indexed (deleted ones keep
    their rows until purged; matching skips records in the recycle bin)."""
    if module in MATCH_MODULES and event in ("created", "updated"):
        phone_index_update(module=module, record_ids=record_ids, new=event == "created")
