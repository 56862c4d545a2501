"""Resource names: `<record id>.<ext>` unless the client that created the record chose another name."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from crm_apps.dav.models import DavObject


def names_for(*, collection: str, extension: str, record_ids: Iterable[Any]) -> dict[Any, str]:
    """{record id: resource name} for these records, in one query."""
    ids = list(record_ids)
    chosen = dict(DavObject.objects.filter(collection=collection, record_id__in=ids).values_list("record_id", "name"))
    return {rid: chosen.get(rid) or f"{rid}{extension}" for rid in ids}


def uids_for(*, collection: str, record_ids: Iterable[Any]) -> dict[Any, str]:
    """{record id: UID} of the records a client created (the UID it gave them); others are absent."""
    ids = list(record_ids)
    return dict(DavObject.objects.filter(collection=collection, record_id__in=ids).values_list("record_id", "uid"))


def record_ids_for(*, collection: str, extension: str, names: Iterable[str]) -> dict[str, Any]:
    """{name: record id} for the names that can denote a record (chosen names first, then `<id>.<ext>`)."""
    wanted = list(names)
    found: dict[str, Any] = dict(
        DavObject.objects.filter(collection=collection, name__in=wanted).values_list("name", "record_id")
    )
    for name in wanted:
        if name in found or not name.endswith(extension):
            continue
        try:
            found[name] = uuid.UUID(name[: -len(extension)])
        except ValueError:
            continue
    return found


def name_claim(*, collection: str, name: str, extension: str, record_id: Any, uid: str) -> None:
    """Remember the name and UID a client gave a record it created (nothing to keep for the default ones)."""
    if name == f"{record_id}{extension}" and uid in ("", str(record_id)):
        return
    # The name may still point at a record that was deleted: the new record takes it over.
    DavObject.objects.filter(collection=collection, name=name).exclude(record_id=record_id).delete()
    DavObject.objects.update_or_create(
        collection=collection, record_id=record_id, defaults={"name": name, "uid": uid[:255]}
    )
