"""Rules for subdomains (= schema names) chosen at signup."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
SUBDOMAIN_MIN = 3
SUBDOMAIN_MAX = 40


def validate_subdomain(value: str) -> None:
    """3-40 chars of lowercase letters, digits and hyphens; no edge hyphen; not reserved."""
    if len(value) < SUBDOMAIN_MIN or len(value) > SUBDOMAIN_MAX:
        raise ValidationError(
            _("A subdomain must be between %(min)d and %(max)d characters long.")
            % {"min": SUBDOMAIN_MIN, "max": SUBDOMAIN_MAX},
            code="length",
        )
    if not SUBDOMAIN_RE.match(value):
        raise ValidationError(
            _("Use only lowercase letters, digits and hyphens, and do not start or end with a hyphen."),
            code="invalid",
        )
    if value[2:4] == "--":  # IDNA's "xn--" form and its relatives
        raise ValidationError(_("Hyphens may not be the third and fourth characters."), code="invalid")
    if value in settings.RESERVED_SUBDOMAINS:
        raise ValidationError(_("This subdomain is reserved. Please choose another."), code="reserved")
