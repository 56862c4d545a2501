"""Which records an email belongs to: by address (every module's email fields) and organisations by the
address's domain. Members' own addresses and the workspace's mailboxes never match, nor do free-mail
domains for the organisation rule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.mail.models import Mailbox

# Domains shared by unrelated people: matching an organisation by them would be wrong.
FREE_MAIL = frozenset(
    "gmail.com googlemail.com yahoo.com hotmail.com outlook.com live.com msn.com aol.com icloud.com me.com "
    "mail.ru yandex.ru ya.ru gmx.de gmx.net web.de proton.me protonmail.com zoho.com example.com".split()
)
DOMAIN_MODULE = "organizations"


def email_fields(spec: Any) -> list[str]:
    """The spec's standard email fields (contacts: email, secondary_email)."""
    return [
        f.name
        for f in spec.model._meta.get_fields()
        if isinstance(f, models.EmailField) and f.concrete and f.name not in ("created_by", "updated_by")
    ]


def internal_addresses() -> set[str]:
    """Addresses of this workspace's members and mailboxes (never matched to records)."""
    from tenants.models import User

    member_users = list(Member.objects.values_list("user_id", flat=True))
    found = {e.lower() for e in User.objects.filter(pk__in=member_users).values_list("email", flat=True)}
    found |= {e.lower() for e in Mailbox.objects.values_list("email_address", flat=True)}
    return found


def records_for(addresses: Iterable[str]) -> list[tuple[str, Any]]:
    """(module, record id) of the live records whose email is one of `addresses` (members excluded), and
    of the organisations whose email domain or website is the domain of one of them."""
    wanted = {a.strip().lower() for a in addresses if a and "@" in a} - internal_addresses()
    if not wanted:
        return []
    found: list[tuple[str, Any]] = []
    for spec in registry.all_specs():
        names = email_fields(spec)
        if not names:
            continue
        qs = spec.records().filter(deleted_at__isnull=True)
        condition = Q()
        for name in names:
            condition |= Q(**{f"_m_{name}__in": wanted})
        qs = qs.annotate(**{f"_m_{name}": Lower(name) for name in names}).filter(condition)
        found.extend((spec.key, pk) for pk in qs.values_list("pk", flat=True)[:50])
    domains = {a.rsplit("@", 1)[1] for a in wanted} - FREE_MAIL
    if domains:
        try:
            spec = registry.get(DOMAIN_MODULE)
        except registry.UnknownModule:
            return found
        condition = Q()
        for domain in domains:
            condition |= Q(email__iendswith="@" + domain) | Q(
                website__iregex=rf"^(https?://)?(www\.)?{_re(domain)}(/|$)"
            )
        pks = spec.records().filter(deleted_at__isnull=True).filter(condition).values_list("pk", flat=True)[:20]
        found.extend((spec.key, pk) for pk in pks if (spec.key, pk) not in found)
    return found


def _re(domain: str) -> str:
    import re

    return re.escape(domain)
