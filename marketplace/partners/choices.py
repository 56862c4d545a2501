"""The lists a partner profile picks from: countries (django-countries, ISO 3166-1), world regions (UN M49),
languages (Django's list of language codes), services and industries."""

from __future__ import annotations

from django.conf import global_settings
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from marketplace.partners.models import PartnerIndustry, PartnerRegion, PartnerService


def country_choices() -> list[tuple[str, str]]:
    return [(str(code), str(name)) for code, name in countries]


def language_choices() -> list[tuple[str, str]]:
    """Two- and three-letter base languages only (no regional variants such as en-gb)."""
    return sorted(
        ((code, str(_(name))) for code, name in global_settings.LANGUAGES if "-" not in code),
        key=lambda pair: pair[1],
    )


def region_choices() -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in PartnerRegion.choices]


def service_choices() -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in PartnerService.choices]


def industry_choices() -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in PartnerIndustry.choices]


def labels(values: list[str], choices: list[tuple[str, str]]) -> list[str]:
    named = dict(choices)
    return [named.get(value, value) for value in values]
