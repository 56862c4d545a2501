"""Click-to-call: phone values of every module are links built from the tenant's URL template."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from crm_apps.engine.models import CustomField, FieldType
from crm_apps.modules.calls.providers import telephony_providers
from crm_apps.modules.calls.settings_store import NUMBER_PLACEHOLDER, telephony_settings
from crm_apps.modules.common import phone_validator


def click_to_call_url(number: str) -> str:
    """The tenant's click-to-call URL for `number`: the page of a contributed telephony provider that
    offers click-to-call (an installed app), else the URL template (`tel:{number}` unless an
    administrator changed it); the number is percent-encoded, spaces and punctuation dropped."""
    compact = "".join(c for c in number if c.isdigit() or c == "+")
    provider = next((p for p in telephony_providers() if p.click_to_call_url), None)
    if provider is not None:
        return f"{provider.click_to_call_url}?{urlencode({'number': compact})}"
    template = telephony_settings().click_to_call_template or "tel:{number}"
    return template.replace(NUMBER_PLACEHOLDER, quote(compact, safe="+"))


def phone_linker(field: Any, value: Any) -> str | None:
    """Engine display hook (`display.value_linker_add`): a link for the values of phone fields, standard
    (validated by `phone_validator`) and custom (type "phone")."""
    is_phone = phone_validator in getattr(field, "validators", ()) or (
        isinstance(field, CustomField) and field.type == FieldType.PHONE
    )
    if is_phone and isinstance(value, str) and any(c.isdigit() for c in value):
        return click_to_call_url(value)
    return None
