"""Constants and helpers shared by the engine's write services."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm_apps.engine import metadata
from crm_apps.engine.mentions import EMAIL_MENTION_RE as MENTION_RE  # noqa: F401 - the name older code imports

TAG_RE = re.compile(r"^[\w .&+-]{1,50}$")
# Fields every module accepts besides its form fields.
COMMON_FIELDS = ("owner", "owner_group", "tags")


F = TypeVar("F", bound=Callable[..., Any])


def _clears_metadata(fn: F) -> F:
    """Writes of definitions (fields, picklists, layouts) drop the metadata memos (metadata.py)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        metadata.metadata_changed()
        try:
            return fn(*args, **kwargs)
        finally:
            metadata.metadata_changed()

    return wrapper  # type: ignore[return-value]


def _clean_label(label: Any) -> str:
    """A label of a picklist value or custom field: 1-100 characters, no NUL."""
    label = label.strip() if isinstance(label, str) else ""
    if not label or len(label) > 100 or "\x00" in label:
        raise ValidationError({"label": [_("Enter a label of 1-100 characters.")]})
    return label
