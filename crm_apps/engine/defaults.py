"""Per-tenant defaults every module needs: numbering sequences, picklists, module-specific data."""

from __future__ import annotations

from django.db import transaction
from django.utils import translation

from crm_apps.engine import registry
from crm_apps.engine.metadata import metadata_changed
from crm_apps.engine.models import NumberingSequence, Picklist, PicklistValue
from saas.value_labels import label_in, labels_of, workspace_language


@transaction.atomic
def crm_defaults_install(*, language: str | None = None) -> None:
    """Install missing defaults in the current tenant schema; never changes what a tenant edited.

    Picklist values keep their stable English `value`; their `label` is in the workspace's language
    (`language`, default the tenant's) and `labels` holds every language (saas/value_labels.py).
    Set-based, a handful of statements whatever the number of modules: every signup runs it.
    """
    language = language or workspace_language()
    specs = list(registry.all_specs())
    NumberingSequence.objects.bulk_create(
        [NumberingSequence(module=spec.key, prefix=spec.number_prefix, next_number=1) for spec in specs],
        ignore_conflicts=True,
    )
    wanted: dict[str, list[str]] = {}
    for spec in specs:
        for name, values in spec.default_picklists.items():
            wanted.setdefault(name, list(values))  # a picklist two modules share: the first one's values
    existing = set(Picklist.objects.filter(name__in=wanted).values_list("name", flat=True))
    missing = [name for name in wanted if name not in existing]
    if missing:
        # ignore_conflicts: a concurrent installer may create the same picklist; its values are the same
        Picklist.objects.bulk_create([Picklist(name=name) for name in missing], ignore_conflicts=True)
        PicklistValue.objects.bulk_create(
            [
                PicklistValue(
                    picklist=picklist,
                    value=value,
                    label=label_in(value, language),
                    labels=labels_of(value),
                    position=position,
                )
                for picklist in Picklist.objects.filter(name__in=missing)
                for position, value in enumerate(wanted[picklist.name])
            ],
            ignore_conflicts=True,
        )
        metadata_changed()
    with translation.override(language):  # module defaults (pipelines...) are named in the workspace's language
        for spec in specs:
            if spec.install_defaults is not None:
                spec.install_defaults()
