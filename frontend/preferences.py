"""Interface preferences of a member: theme, language and the sidebar (order, hidden modules, collapsed
groups). Each writes only the member's own row; unknown values are refused with a field-level error."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from frontend.shell import sidebar_groups, sidebar_prefs

THEMES = ("system", "light", "dark")
ADMIN_GROUP = "admin"


def member_theme_set(*, member: Member, theme: str) -> Member:
    """The colour theme: follow the system setting, or always light, or always dark."""
    if theme not in THEMES:
        raise ValidationError({"theme": [_("Choose light, dark or system.")]})
    member.theme = theme
    member.save(update_fields=["theme"])
    return member


def member_language_set(*, member: Member, language: str) -> Member:
    """The interface language, one of the languages the product speaks."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": [_("Choose one of the offered languages.")]})
    member.language = language
    member.save(update_fields=["language"])
    return member


def _clean_keys(values: Iterable[str], known: set[str], field: str) -> list[str]:
    keys = [str(v) for v in values]
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ValidationError({field: [_("Unknown: %(keys)s.") % {"keys": ", ".join(unknown[:5])}]})
    return list(dict.fromkeys(keys))


@transaction.atomic
def member_sidebar_set(
    *,
    member: Member,
    order: Iterable[str] | None = None,
    hidden: Iterable[str] | None = None,
    collapsed: Iterable[str] | None = None,
) -> Member:
    """The sidebar as the member arranged it; only modules they may view and groups that exist (a part
    left as None keeps its stored value). Hiding never removes access: the module stays in search."""
    groups = sidebar_groups(member=member, include_hidden=True)
    modules = {m["key"] for g in groups for m in g["modules"]}
    group_keys = {g["key"] for g in groups} | {ADMIN_GROUP}
    prefs = sidebar_prefs(Member.objects.select_for_update().get(pk=member.pk))
    if order is not None:
        prefs["order"] = _clean_keys(order, modules, "order")
    if hidden is not None:
        prefs["hidden"] = _clean_keys(hidden, modules, "hidden")
    if collapsed is not None:
        prefs["collapsed"] = _clean_keys(collapsed, group_keys, "collapsed")
    member.sidebar = prefs
    member.save(update_fields=["sidebar"])
    return member
