"""Click-to-call: phone values of every module are links built from the tenant's URL template."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote, urlencode

from celery.signals import task_prerun
from django.core.signals import request_finished, request_started

from crm_apps.engine.models import CustomField, FieldType
from crm_apps.modules.calls.providers import telephony_providers
from crm_apps.modules.calls.settings_store import NUMBER_PLACEHOLDER, telephony_settings
from crm_apps.modules.common import phone_validator

# Where a number's link goes, worked out once per request or task and schema (a list page asked the providers
# and the settings for every phone cell: issue 25).
_request = threading.local()


def _forget(**_kwargs: Any) -> None:
    _request.target = None


request_started.connect(_forget, dispatch_uid="calls-click-to-call-start")
request_finished.connect(_forget, dispatch_uid="calls-click-to-call-end")
task_prerun.connect(_forget, dispatch_uid="calls-click-to-call-task", weak=False)


def _target() -> tuple[bool, str]:
    """(True, a provider's click-to-call page) or (False, the URL template), for the current workspace."""
    from saas.cache_versions import version
    from tenants.runtime import current_schema

    # The settings and the installed apps are metadata (their writers move the version on): a change made
    # earlier in the same request or task is seen too.
    scope = (current_schema(), version("metadata"))
    known: tuple[tuple[str, str | None], tuple[bool, str]] | None = getattr(_request, "target", None)
    if known is not None and known[0] == scope and scope[1] is not None:
        return known[1]
    provider = next((p for p in telephony_providers() if p.click_to_call_url), None)
    if provider is not None:
        target = (True, provider.click_to_call_url)
    else:
        target = (False, telephony_settings().click_to_call_template or "tel:{number}")
    _request.target = (scope, target)
    return target


def click_to_call_url(number: str) -> str:
    """The tenant's click-to-call URL for `number`: the page of a contributed telephony provider that
    offers click-to-call (an installed app), else the URL template (`tel:{number}` unless an
    administrator changed it); the number is percent-encoded, spaces and punctuation dropped."""
    compact = "".join(c for c in number if c.isdigit() or c == "+")
    is_provider, target = _target()
    if is_provider:
        return f"{target}?{urlencode({'number': compact})}"
    return target.replace(NUMBER_PLACEHOLDER, quote(compact, safe="+"))


_phone_fields: dict[Any, bool] = {}


def is_phone_field(field: Any) -> bool:
    """Whether a model field holds phone numbers (validated by `phone_validator`): `phone_linker`'s `applies`."""
    return phone_validator in getattr(field, "validators", ())


def phone_linker(field: Any, value: Any) -> str | None:
    """Engine display hook (`display.value_linker_add`): a link for the values of phone fields, standard
    (validated by `phone_validator`) and custom (type "phone")."""
    is_phone: bool | None
    if isinstance(field, CustomField):
        is_phone = field.type == FieldType.PHONE
    else:
        # Model fields live as long as the process: their answer is kept (the validators' comparison ran for
        # every value a list page showed).
        is_phone = _phone_fields.get(field)
        if is_phone is None:
            is_phone = _phone_fields[field] = is_phone_field(field)
    if is_phone and isinstance(value, str) and any(c.isdigit() for c in value):
        return click_to_call_url(value)
    return None
