"""Applying extension manifests inside the current tenant schema, through the CRM's own services.

Install, reinstall and upgrade are one operation: make the workspace match the manifest, creating
what is missing, updating what the extension owns, and setting aside what an older version added and
this one does not (fields archived with their data, picklist values retired, pipelines archived, views
removed, webhooks switched off). Everything an installation creates is recorded as an OwnedObject, so
a second install of the same manifest changes nothing and uninstall knows exactly what to hide.
Objects the workspace already had are never taken over: a clash is a validation error.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import ApiToken, Member
from crm_apps.access.privileges import Privilege
from crm_apps.access.services import api_token_create
from crm_apps.audit import services as audit
from crm_apps.custom_modules.models import CustomModule, CustomRecord
from crm_apps.custom_modules.services import custom_module_archive, custom_module_create, custom_module_update
from crm_apps.engine import metadata, registry, selectors
from crm_apps.engine import services as engine
from crm_apps.engine.models import CustomField, NumberingSequence, Picklist, PicklistValue, SavedView
from crm_apps.modules.deals import services as deals
from crm_apps.modules.deals.models import Deal, Pipeline, Stage
from marketplace.installs.models import (
    ExtensionInstallation,
    InstallationState,
    LabelTranslation,
    OwnedKind,
    OwnedObject,
    WebhookSubscription,
)
from marketplace.manifest import PICKLIST_TYPES, Manifest
from marketplace.ui.services import app_apply, app_uninstall


def _require_admin(actor: Member) -> None:
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):  # administrators hold it
        raise PermissionDenied


class _Applier:
    """Brings one installation's owned objects in line with a manifest."""

    def __init__(self, *, actor: Member, installation: ExtensionInstallation, manifest: Manifest) -> None:
        self.actor = actor
        self.installation = installation
        self.manifest = manifest
        self.owned: dict[tuple[str, str], OwnedObject] = {
            (o.kind, o.ident): o for o in OwnedObject.objects.filter(installation=installation)
        }
        self.kept: set[tuple[str, str]] = set()

    def own(self, kind: str, ident: str, object_id: Any) -> None:
        key = (kind, ident)
        self.kept.add(key)
        current = self.owned.get(key)
        if current is None:
            self.owned[key] = OwnedObject.objects.create(
                installation=self.installation, kind=kind, ident=ident, object_id=str(object_id)
            )
        elif current.object_id != str(object_id):
            current.object_id = str(object_id)
            current.save(update_fields=["object_id"])

    def owned_id(self, kind: str, ident: str) -> str | None:
        found = self.owned.get((kind, ident))
        return found.object_id if found else None

    def apply(self) -> None:
        self.custom_modules()
        self.custom_fields()
        self.picklist_values()
        self.pipelines()
        self.saved_views()
        self.webhooks()
        self.translations()
        self.set_aside_removed()

    # -- custom modules (ADR 0016) ---------------------------------------------------------------
    def custom_modules(self) -> None:
        for index, item in enumerate(self.manifest.items("custom_modules")):
            key = item["key"]
            module_id = self.owned_id(OwnedKind.CUSTOM_MODULE, key)
            module = CustomModule.objects.filter(pk=module_id).first() if module_id else None
            try:
                if module is None:
                    if CustomModule.objects.filter(key=key).exists():
                        raise ValidationError(
                            {"key": [_("This workspace already has a module “%(key)s”.") % {"key": key}]}
                        )
                    module = custom_module_create(
                        actor=self.actor,
                        key=key,
                        label=item["label"],
                        label_plural=item["plural"],
                        icon=item.get("icon", ""),
                        number_prefix=item.get("number_prefix", ""),
                        menu_group=item.get("menu_group", ""),
                    )
                else:
                    changes = {"label": item["label"], "label_plural": item["plural"], "archived": False}
                    changes |= {name: item[name] for name in ("icon", "menu_group") if name in item}
                    module = custom_module_update(actor=self.actor, module=module, data=changes)
            except ValidationError as exc:
                renamed = {"label_plural": "plural"}
                raise ValidationError(
                    {
                        f"custom_modules.{index}.{renamed.get(name, name)}": messages
                        for name, messages in exc.message_dict.items()
                    }
                ) from exc
            self.own(OwnedKind.CUSTOM_MODULE, key, module.pk)

    # -- custom fields ------------------------------------------------------------------------
    def custom_fields(self) -> None:
        for index, item in enumerate(self.manifest.items("custom_fields")):
            ident = f"{item['module']}.{item['key']}"
            spec = registry.get(item["module"])
            field_id = self.owned_id(OwnedKind.CUSTOM_FIELD, ident)
            field = CustomField.objects.filter(pk=field_id).first() if field_id else None
            if field is None:
                if CustomField.objects.filter(module=spec.key, key=item["key"]).exists():
                    raise ValidationError(
                        {
                            f"custom_fields.{index}.key": [
                                _("This workspace already has a field “%(key)s” in %(module)s.")
                                % {"key": item["key"], "module": spec.key}
                            ]
                        }
                    )
                options: dict[str, Any] = {}
                if "max_length" in item:
                    options["max_length"] = item["max_length"]
                if "target" in item:
                    options["target"] = item["target"]
                field = engine.custom_field_create(
                    actor=self.actor,
                    spec=spec,
                    key=item["key"],
                    label=item["label"],
                    type=item["type"],
                    required=bool(item.get("required", False)),
                    options=options,
                    choices=item.get("choices"),
                    help_text=item.get("help_text", ""),
                )
            else:
                engine.custom_field_update(
                    actor=self.actor,
                    field=field,
                    label=item["label"],
                    required=bool(item.get("required", False)),
                    help_text=item.get("help_text", ""),
                    archived=False,
                )
                if item["type"] in PICKLIST_TYPES:
                    self._ensure_values(field.picklist_name, item.get("choices") or [], owned_prefix=None)
            self.own(OwnedKind.CUSTOM_FIELD, ident, field.pk)

    def _ensure_values(self, picklist_name: str, values: list[str], *, owned_prefix: str | None) -> None:
        """Add missing values (and bring back retired ones); with `owned_prefix`, record those we add."""
        picklist = Picklist.objects.get(name=picklist_name)
        for value in values:
            existing = picklist.values.filter(value__iexact=value).first()
            ident = f"{owned_prefix}.{value}" if owned_prefix else None
            if existing is None:
                existing = engine.picklist_value_add(actor=self.actor, name=picklist_name, label=value)
            else:
                theirs = ident is not None and not self.owned_id(OwnedKind.PICKLIST_VALUE, ident)
                if theirs or (ident is None and not existing.retired):
                    continue  # the workspace's own value is never taken over; an active one needs nothing
            if existing.retired:
                engine.picklist_value_update(actor=self.actor, value=existing, retired=False)
            if ident is not None:
                self.own(OwnedKind.PICKLIST_VALUE, ident, existing.pk)

    # -- picklist values ----------------------------------------------------------------------
    def picklist_values(self) -> None:
        for item in self.manifest.items("picklist_values"):
            spec = registry.get(item["module"])
            name = spec.picklists.get(item["field"]) or f"cf:{spec.key}:{item['field']}"
            self._ensure_values(name, item["values"], owned_prefix=f"{item['module']}.{item['field']}")

    # -- pipelines ----------------------------------------------------------------------------
    def pipelines(self) -> None:
        for index, item in enumerate(self.manifest.items("pipelines")):
            pipeline_id = self.owned_id(OwnedKind.PIPELINE, item["name"])
            pipeline = Pipeline.objects.filter(pk=pipeline_id).first() if pipeline_id else None
            if pipeline is None:
                if Pipeline.objects.filter(name__iexact=item["name"]).exists():
                    raise ValidationError(
                        {
                            f"pipelines.{index}.name": [
                                _("This workspace already has a pipeline “%(name)s”.") % {"name": item["name"]}
                            ]
                        }
                    )
                pipeline = deals.pipeline_create(actor=self.actor, name=item["name"], stages=item["stages"])
            else:
                if pipeline.archived:
                    Pipeline.objects.filter(pk=pipeline.pk).update(archived=False)
                stages = {s.name.lower(): s for s in pipeline.stages.all()}
                for position, stage in enumerate(item["stages"]):
                    found = stages.get(stage["name"].lower())
                    values = {
                        "probability": stage["probability"],
                        "is_won": bool(stage.get("is_won")),
                        "is_lost": bool(stage.get("is_lost")),
                        "position": position,
                    }
                    if found is None:
                        Stage.objects.create(pipeline=pipeline, name=stage["name"], **values)
                    elif any(getattr(found, k) != v for k, v in values.items()):
                        Stage.objects.filter(pk=found.pk).update(**values)
            self.own(OwnedKind.PIPELINE, item["name"], pipeline.pk)

    # -- saved views --------------------------------------------------------------------------
    def saved_views(self) -> None:
        for index, item in enumerate(self.manifest.items("saved_views")):
            spec = registry.get(item["module"])
            metadata.metadata_changed()  # fields this install just added are filterable
            try:
                selectors.apply_filters(spec, spec.records().none(), dict(item.get("filters") or {}))
                selectors.ordering_for(spec, item.get("ordering") or None)
            except ValidationError as exc:
                raise ValidationError({f"saved_views.{index}": exc.messages}) from exc
            ident = f"{item['module']}.{item['name']}"
            view_id = self.owned_id(OwnedKind.SAVED_VIEW, ident)
            view = SavedView.objects.filter(pk=view_id).first() if view_id else None
            values = {
                "module": spec.key,
                "name": item["name"],
                "shared": True,
                "filters": dict(item.get("filters") or {}),
                "search": item.get("search", ""),
                "ordering": item.get("ordering", ""),
                "columns": list(item.get("columns") or []),
            }
            if view is None:
                view = SavedView.objects.create(owner=self.actor, **values)
            else:
                SavedView.objects.filter(pk=view.pk).update(**values)
            self.own(OwnedKind.SAVED_VIEW, ident, view.pk)

    # -- webhooks -----------------------------------------------------------------------------
    def webhooks(self) -> None:
        for item in self.manifest.items("webhooks"):
            hook_id = self.owned_id(OwnedKind.WEBHOOK, item["url"])
            hook = WebhookSubscription.objects.filter(pk=hook_id).first() if hook_id else None
            if hook is None:
                hook = WebhookSubscription.objects.create(
                    installation=self.installation, url=item["url"], events=sorted(item["events"])
                )
            else:
                WebhookSubscription.objects.filter(pk=hook.pk).update(events=sorted(item["events"]), active=True)
            self.own(OwnedKind.WEBHOOK, item["url"], hook.pk)

    # -- translations -------------------------------------------------------------------------
    def translations(self) -> None:
        LabelTranslation.objects.filter(installation=self.installation).delete()
        LabelTranslation.objects.bulk_create(
            [
                LabelTranslation(installation=self.installation, language=language, source=source, text=text)
                for language, table in (self.manifest.data.get("translations") or {}).items()
                for source, text in table.items()
            ]
        )

    # -- what the new version no longer has -----------------------------------------------------
    def set_aside_removed(self) -> None:
        for key, owned in list(self.owned.items()):
            if key in self.kept:
                continue
            _set_aside(self.actor, owned)
            owned.delete()
            del self.owned[key]


def _set_aside(actor: Member, owned: OwnedObject) -> None:
    """Hide one owned object from the UI, keeping every stored value."""
    if owned.kind == OwnedKind.CUSTOM_MODULE:
        module = CustomModule.objects.filter(pk=owned.object_id).first()
        if module is not None and module.archived_at is None:
            custom_module_archive(actor=actor, module=module)  # records and fields are kept
    elif owned.kind == OwnedKind.CUSTOM_FIELD:
        field = CustomField.objects.filter(pk=owned.object_id).first()
        if field is not None and field.archived_at is None:
            engine.custom_field_update(actor=actor, field=field, archived=True)
    elif owned.kind == OwnedKind.PICKLIST_VALUE:
        value = PicklistValue.objects.filter(pk=owned.object_id).first()
        if value is not None and not value.retired:
            with contextlib.suppress(ValidationError):  # the picklist's last active value stays
                engine.picklist_value_update(actor=actor, value=value, retired=True)
    elif owned.kind == OwnedKind.PIPELINE:
        Pipeline.objects.filter(pk=owned.object_id, is_default=False).update(archived=True)
    elif owned.kind == OwnedKind.SAVED_VIEW:
        SavedView.objects.filter(pk=owned.object_id).delete()
    elif owned.kind == OwnedKind.WEBHOOK:
        WebhookSubscription.objects.filter(pk=owned.object_id).update(active=False)
    metadata.metadata_changed()


def _purge(owned: OwnedObject) -> None:
    """Remove one owned object and the data it holds (only on an admin's explicit purge)."""
    if owned.kind == OwnedKind.CUSTOM_MODULE:
        # A module goes only when it holds no record at all (deleted ones too); else it stays archived.
        module = CustomModule.objects.filter(pk=owned.object_id).first()
        if module is not None and not CustomRecord.objects.filter(module_key=module.key).exists():
            NumberingSequence.objects.filter(module=module.key).delete()
            module.delete()
    elif owned.kind == OwnedKind.CUSTOM_FIELD:
        field = CustomField.objects.filter(pk=owned.object_id).first()
        if field is not None:
            # The field's module may be a custom module the uninstall just archived (not in the registry).
            spec = registry.get(field.module) if field.module in registry.builtin_keys() else None
            model = spec.model if spec is not None else CustomRecord
            scope = spec.scope if spec is not None else {"module_key": field.module}
            where = "".join(f' AND "{name}" = %s' for name in scope)
            with connection.cursor() as cursor:
                cursor.execute(
                    f'UPDATE "{model._meta.db_table}" SET custom_data = custom_data - %s '  # noqa: S608
                    f"WHERE custom_data ? %s{where}",
                    [field.key, field.key, *scope.values()],
                )
            Picklist.objects.filter(name=field.picklist_name).delete()
            field.delete()
    elif owned.kind == OwnedKind.PICKLIST_VALUE:
        PicklistValue.objects.filter(pk=owned.object_id, retired=True).delete()
    elif owned.kind == OwnedKind.PIPELINE:
        if not Deal.objects.filter(pipeline_id=owned.object_id).exists():
            Pipeline.objects.filter(pk=owned.object_id, is_default=False).delete()
    elif owned.kind == OwnedKind.WEBHOOK:
        WebhookSubscription.objects.filter(pk=owned.object_id).delete()
    metadata.metadata_changed()


def _token_issue(*, installation: ExtensionInstallation, actor: Member, scopes: list[str]) -> str | None:
    """Give the installation an API token limited to `scopes`; the key is returned once, never stored."""
    if not scopes:
        if installation.token_id:
            ApiToken.objects.filter(pk=installation.token_id).delete()
            installation.token = None
            installation.token_prefix = ""
        return None
    if installation.token_id and ApiToken.objects.filter(pk=installation.token_id).exists():
        ApiToken.objects.filter(pk=installation.token_id).update(scopes=scopes)
        return None
    token, key = api_token_create(
        member=actor, name=(_("Extension: %(name)s") % {"name": installation.name})[:100], scopes=scopes
    )
    installation.token = token
    installation.token_prefix = token.prefix
    return key


def _installation_claim(
    *, listing_id: int, slug: str, name: str, version: str, actor: Member
) -> tuple[ExtensionInstallation, bool]:
    """The listing's installation row, locked, and whether it was created now. Of two first installs at
    once (a double click), the second one's INSERT waits for the first transaction and then fails on the
    unique listing: inside a savepoint, so this transaction goes on and locks the row committed meanwhile."""
    installation = ExtensionInstallation.objects.select_for_update().filter(listing_id=listing_id).first()
    if installation is not None:
        return installation, False
    try:
        with transaction.atomic():
            created = ExtensionInstallation.objects.create(
                listing_id=listing_id, slug=slug, name=name, version=version, installed_by=actor
            )
        return created, True
    except IntegrityError:
        return ExtensionInstallation.objects.select_for_update().get(listing_id=listing_id), False


@transaction.atomic
def extension_install(
    *, actor: Member, listing_id: int, slug: str, name: str, manifest: Manifest
) -> tuple[ExtensionInstallation, str | None]:
    """Install, reinstall or upgrade: make the workspace match `manifest` (idempotent); returns the
    installation and, when a token was issued now, its key (shown once)."""
    _require_admin(actor)
    installation, created = _installation_claim(
        listing_id=listing_id, slug=slug, name=name, version=str(manifest.version), actor=actor
    )
    previous = None if created else installation.version
    was_installed = not created and installation.is_installed
    _Applier(actor=actor, installation=installation, manifest=manifest).apply()
    app_apply(actor=actor, installation=installation, manifest=manifest)  # schema 2: app, templates, reports
    key = _token_issue(installation=installation, actor=actor, scopes=manifest.scopes)
    now = timezone.now()
    installation.name = name
    installation.version = str(manifest.version)
    installation.manifest = manifest.data
    installation.state = InstallationState.INSTALLED
    installation.uninstalled_at = None
    installation.updated_at = now
    if not was_installed:
        installation.installed_at = now
        installation.installed_by = actor
    installation.save()
    metadata.metadata_changed()
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        changes={"version": [previous if was_installed else None, installation.version]},
        details={"setting": "extension_installed", "extension": slug, "scopes": manifest.scopes},
    )
    return installation, key


@transaction.atomic
def extension_uninstall(*, actor: Member, installation: ExtensionInstallation, purge: bool = False) -> None:
    """Revoke the token, switch off webhooks, hide what the extension added; data is kept unless `purge`."""
    _require_admin(actor)
    installation = ExtensionInstallation.objects.select_for_update().get(pk=installation.pk)
    if installation.token_id:
        ApiToken.objects.filter(pk=installation.token_id).delete()
    owned = list(OwnedObject.objects.filter(installation=installation))
    for item in owned:
        _set_aside(actor, item)
    LabelTranslation.objects.filter(installation=installation).delete()
    app_uninstall(installation=installation)
    if purge:
        for item in owned:
            _purge(item)
        OwnedObject.objects.filter(installation=installation).delete()
    installation.token = None
    installation.token_prefix = ""
    installation.state = InstallationState.UNINSTALLED
    installation.uninstalled_at = timezone.now()
    installation.save()
    metadata.metadata_changed()
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        changes={"version": [installation.version, None]},
        details={"setting": "extension_uninstalled", "extension": installation.slug, "purged": purge},
    )
