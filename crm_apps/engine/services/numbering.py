"""Record numbers: per-module prefix and sequence, allocated without gaps inside a transaction."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine.models import NumberingSequence
from crm_apps.engine.spec import ModuleSpec


def numbering_ensure(spec: ModuleSpec) -> NumberingSequence:
    sequence, _created = NumberingSequence.objects.get_or_create(
        module=spec.key, defaults={"prefix": spec.number_prefix, "next_number": 1}
    )
    return sequence


def numbers_allocate(spec: ModuleSpec, count: int) -> list[str]:
    """Take `count` consecutive numbers of the module in one statement (the row stays locked until
    commit, so concurrent creators get the numbers after the block)."""
    if count <= 0:
        return []
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE engine_numberingsequence SET next_number = next_number + %s "
                "WHERE module = %s RETURNING prefix, next_number - %s",
                [count, spec.key, count],
            )
            row = cursor.fetchone()
        if row is not None:
            prefix, first = row
            return [f"{prefix}{n}" for n in range(first, first + count)]
        try:
            with transaction.atomic():
                numbering_ensure(spec)
        except IntegrityError:
            pass
    raise RuntimeError(f"Could not allocate a number for {spec.key}")


def number_allocate(spec: ModuleSpec) -> str:
    """Take the next number of the module atomically (row lock until commit)."""
    return numbers_allocate(spec, 1)[0]


def numbering_update(*, actor: Member, spec: ModuleSpec, prefix: str, next_number: int) -> NumberingSequence:
    """Admins change a module's prefix and next number; numbers already used cannot be reissued."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    prefix = (prefix or "").strip().upper()
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"[A-Z][A-Z0-9-]{0,9}", prefix):
        errors["prefix"] = [_("Use 1-10 capital letters, digits or hyphens, starting with a letter.")]
    if not isinstance(next_number, int) or next_number < 1 or next_number > 10**12:
        errors["next_number"] = [_("Enter a whole number of at least 1.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        sequence = NumberingSequence.objects.select_for_update().get(pk=numbering_ensure(spec).pk)
        taken = spec.records().filter(number__startswith=prefix).values_list("number", flat=True)
        used = [int(n[len(prefix) :]) for n in taken if n[len(prefix) :].isdigit()]
        if used and next_number <= max(used):
            raise ValidationError(
                {"next_number": [_("Numbers up to %(n)s are already used with this prefix.") % {"n": max(used)}]}
            )
        changes = {
            name: [old, new]
            for name, old, new in (
                ("prefix", sequence.prefix, prefix),
                ("next_number", sequence.next_number, next_number),
            )
            if old != new
        }
        sequence.prefix = prefix
        sequence.next_number = next_number
        sequence.save()
        if changes:
            audit.audit_log(
                action=audit.SETTINGS_CHANGED,
                actor=actor,
                module=spec.key,
                changes=changes,
                details={"setting": "numbering"},
            )
    return sequence
