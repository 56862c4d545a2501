"""Phone numbers to E.164 with the tenant's default region (the `phonenumbers` package)."""

from __future__ import annotations

import phonenumbers

# Modules whose records calls are matched against, in the order ambiguous matches are listed.
MATCH_MODULES = ("contacts", "leads", "organizations")


def normalise(raw: str, *, region: str) -> str:
    """The E.164 form of `raw` ("+4930123456"), or "" when it is not a possible phone number.
    A number without a country code is read in `region` (ISO 3166-1 alpha-2)."""
    text = (raw or "").strip()
    if not text:
        return ""
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def region_valid(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS
