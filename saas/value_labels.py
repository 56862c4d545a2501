"""Built-in values in several languages: one `labels` JSON ({language: text}) per value row.

Records and the API keep the stable stored value (a picklist value's `value`, a stage's id and
`name`); people see `label_pick(labels, stored)`: the member's language when a label exists in it,
else the workspace's language (`Tenant.language`, chosen at signup), else the stored text.

Module packages declare their built-in values as msgids marked with `gettext_noop` (picklists in
`ModuleSpec.default_picklists`, pipelines, roles...); `labels_of(msgid)` resolves them in every
language of `settings.LANGUAGES` with `translation.override`, so a value's translations live in the
project's `.po` beside the rest of the interface (docs/adr/0026-value-labels.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.db import connection
from django.utils import translation


def language_codes() -> list[str]:
    return [code for code, _label in settings.LANGUAGES]


def workspace_language() -> str:
    """The language the active workspace was created in (the default language outside a tenant)."""
    return str(getattr(getattr(connection, "tenant", None), "language", "") or settings.LANGUAGE_CODE)


def active_language() -> str:
    return (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]


def label_pick(labels: Mapping[str, str] | None, stored: str) -> str:
    """The text to show: the member's language, else the workspace's, else the stored value."""
    if not labels:
        return stored
    return labels.get(active_language()) or labels.get(workspace_language()) or stored


def labels_of(msgid: str) -> dict[str, str]:
    """A built-in value's label in every configured language (its .po translation, else the msgid)."""
    labels = {}
    for code in language_codes():
        with translation.override(code):
            labels[code] = translation.gettext(msgid)
    return labels


def label_in(msgid: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(msgid)


def labels_set(labels: Mapping[str, str] | None, *, language: str, text: str) -> dict[str, str]:
    """`labels` with the text of one language replaced (a rename in the UI renames the member's language)."""
    result = dict(labels or {})
    result[language] = text
    return result


def labels_clean(current: Mapping[str, str] | None, given: object) -> dict[str, str]:
    """`current` with the languages of `given` set (empty text: removed); a 400-worthy error names the field."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if not isinstance(given, dict):
        raise ValidationError({"labels": [_("Send an object of language codes and texts.")]})
    result = dict(current or {})
    codes = language_codes()
    for language, text in given.items():
        if language not in codes:
            message = _("Unknown language %(code)s; use one of %(codes)s.") % {
                "code": language,
                "codes": ", ".join(codes),
            }
            raise ValidationError({"labels": [message]})
        if not isinstance(text, str) or len(text.strip()) > 100:
            raise ValidationError({"labels": [_("Enter a text of at most 100 characters.")]})
        if text.strip():
            result[language] = text.strip()
        else:
            result.pop(language, None)
    return result
