"""Generic writes for every module: create, update, delete/restore/purge, mass actions, merge,
comments, follows, numbering, picklists, custom fields. Every entry path (UI, API, imports,
workflows, extensions) calls these, so one set of rules applies everywhere.

The package re-exports every public name, so callers import from `crm_apps.engine.services`;
the topic modules hold the code. The three private value helpers are re-exported for
`engine/children.py`, which writes child rows with the same rules."""

from __future__ import annotations

from crm_apps.engine.services._common import COMMON_FIELDS, MENTION_RE, TAG_RE
from crm_apps.engine.services.comments import comment_add, follow_set, record_tags_change
from crm_apps.engine.services.custom_fields import (
    CUSTOM_KEY_RE,
    RESERVED_CUSTOM_KEYS,
    custom_data_clean,
    custom_field_create,
    custom_field_update,
)
from crm_apps.engine.services.layout import layout_replace, layout_save
from crm_apps.engine.services.merge import records_merge
from crm_apps.engine.services.numbering import (
    number_allocate,
    numbering_ensure,
    numbering_update,
    numbers_allocate,
)
from crm_apps.engine.services.picklists import picklist_ensure, picklist_value_add, picklist_value_update
from crm_apps.engine.services.purge import records_purge_deleted
from crm_apps.engine.services.records import (
    BATCH_LIMIT,
    ConflictError,
    RecordsPermissionDenied,
    access_record_for_update,
    record_create,
    record_delete,
    record_restore,
    record_update,
    records_create_batch,
    records_mass_delete,
    records_mass_update,
)
from crm_apps.engine.services.values import _check_text as _check_text
from crm_apps.engine.services.values import _empty_value as _empty_value
from crm_apps.engine.services.values import _resolve_fk as _resolve_fk
from crm_apps.engine.services.values import fold_accents, search_vector_refresh

__all__ = [
    "BATCH_LIMIT",
    "COMMON_FIELDS",
    "CUSTOM_KEY_RE",
    "MENTION_RE",
    "RESERVED_CUSTOM_KEYS",
    "TAG_RE",
    "ConflictError",
    "RecordsPermissionDenied",
    "access_record_for_update",
    "comment_add",
    "custom_data_clean",
    "custom_field_create",
    "custom_field_update",
    "fold_accents",
    "follow_set",
    "layout_replace",
    "layout_save",
    "number_allocate",
    "numbering_ensure",
    "numbering_update",
    "numbers_allocate",
    "picklist_ensure",
    "picklist_value_add",
    "picklist_value_update",
    "record_create",
    "record_delete",
    "record_restore",
    "record_tags_change",
    "record_update",
    "records_create_batch",
    "records_mass_delete",
    "records_mass_update",
    "records_merge",
    "records_purge_deleted",
    "search_vector_refresh",
]
