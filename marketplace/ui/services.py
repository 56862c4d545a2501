"""Install, upgrade and remove what a schema-2 manifest brings beyond the declarative kinds (called by
marketplace.installs.services inside its transaction): the app's row and secret, PDF templates of
document modules, email templates and shared reports - each through its feature's own services, and
each error reported under the manifest path it comes from (nothing is half-written: one transaction)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from marketplace.installs.models import ExtensionInstallation
from marketplace.manifest import Manifest
from marketplace.ui.models import AppInstall


def _prefixed(exc: ValidationError, base: str) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError({f"{base}.{key}": messages for key, messages in exc.message_dict.items()})
    return ValidationError({base: exc.messages})


def _document_templates(app: AppInstall, manifest: Manifest, actor: Member, owned: dict[str, Any]) -> dict[str, Any]:
    from crm_apps.inventory.models import PdfTemplate

    before = dict(owned.get("document_templates") or {})
    kept: dict[str, Any] = {}
    for index, item in enumerate(manifest.items("document_templates")):
        ident = f"{item['module']}.{item['language']}"
        current = PdfTemplate.objects.filter(module=item["module"], language=item["language"]).first()
        if current is not None and before.get(ident) != current.pk:
            raise ValidationError(
                {
                    f"document_templates.{index}": [
                        _("The workspace already has its own %(module)s template in %(language)s.")
                        % {"module": item["module"], "language": item["language"]}
                    ]
                }
            )
        if current is None:
            current = PdfTemplate(module=item["module"], language=item["language"])
        current.html = item["html"]
        current.updated_by = actor
        current.updated_at = timezone.now()
        current.save()
        kept[ident] = current.pk
    gone = [pk for ident, pk in before.items() if ident not in kept]
    PdfTemplate.objects.filter(pk__in=gone).delete()  # the built-in default applies again
    return kept


def _email_templates(manifest: Manifest, actor: Member, owned: dict[str, Any]) -> dict[str, Any]:
    from crm_apps.mail.models import Template
    from crm_apps.mail.services import template_create, template_update

    before = dict(owned.get("email_templates") or {})
    kept: dict[str, Any] = {}
    for index, item in enumerate(manifest.items("email_templates")):
        data = {
            "name": item["name"],
            "module": item.get("module", ""),
            "language": item.get("language", ""),
            "subject": item["subject"],
            "body_html": item["body_html"],
            "shared": True,
        }
        existing = Template.objects.filter(pk=before[item["key"]]).first() if item["key"] in before else None
        try:
            if existing is None:
                existing = template_create(actor=actor, data=data)
            else:
                template_update(actor=actor, template=existing, data=data)
        except ValidationError as exc:
            raise _prefixed(exc, f"email_templates.{index}") from None
        kept[item["key"]] = existing.pk
    Template.objects.filter(pk__in=[pk for key, pk in before.items() if key not in kept]).delete()
    return kept


def _reports(manifest: Manifest, actor: Member, owned: dict[str, Any]) -> dict[str, Any]:
    from crm_apps.reports.models import Report
    from crm_apps.reports.services import report_save

    before = dict(owned.get("reports") or {})
    kept: dict[str, Any] = {}
    for index, item in enumerate(manifest.items("reports")):
        data = {
            "name": item["name"],
            "description": item.get("description", ""),
            "definition": item["definition"],
            "sharing": "shared",
        }
        existing = Report.objects.filter(pk=before[item["key"]]).first() if item["key"] in before else None
        try:
            report = report_save(actor=actor, data=data, report=existing)
        except ValidationError as exc:
            raise _prefixed(exc, f"reports.{index}") from None
        kept[item["key"]] = report.pk
    Report.objects.filter(pk__in=[pk for key, pk in before.items() if key not in kept]).delete()
    return kept


def app_apply(*, actor: Member, installation: ExtensionInstallation, manifest: Manifest) -> AppInstall | None:
    """Bring the installation's app side in line with `manifest` (install, reinstall, upgrade)."""
    data = manifest.data
    app = AppInstall.objects.select_for_update().filter(installation=installation).first()
    wants = any(data.get(kind) for kind in ("app", "document_templates", "email_templates", "reports"))
    if app is None and not wants:
        return None
    if app is None:
        app = AppInstall.objects.create(installation=installation)
    owned = dict(app.owned or {})
    app.origin = (data.get("app") or {}).get("origin", "")
    app.owned = {
        "document_templates": _document_templates(app, manifest, actor, owned),
        "email_templates": _email_templates(manifest, actor, owned),
        "reports": _reports(manifest, actor, owned),
    }
    app.save()
    _drop_widgets(installation, keep={item["key"] for item in (data.get("ui") or {}).get("dashboard_widgets") or []})
    return app


def _drop_widgets(installation: ExtensionInstallation, *, keep: set[str]) -> None:
    """Delete the dashboard widgets of this installation's app whose key is not in `keep`."""
    from crm_apps.reports.models import Widget
    from marketplace.ui.surfaces import WIDGET_KIND

    prefix = f"{installation.pk}."
    stale = [
        widget.pk
        for widget in Widget.objects.filter(kind=WIDGET_KIND, config__ref__startswith=prefix)
        if str(widget.config["ref"]).removeprefix(prefix) not in keep
    ]
    Widget.objects.filter(pk__in=stale).delete()


def app_uninstall(*, installation: ExtensionInstallation) -> None:
    """Remove what the app installed: its templates (the workspace's defaults apply again) and reports.
    Frames and actions stop at once (they are shown only for installed extensions). Documents and emails
    already produced with the templates keep their content. The secret is replaced, so contexts and
    action signatures of the old installation no longer verify. Its dashboard widgets are deleted."""
    from crm_apps.inventory.models import PdfTemplate
    from crm_apps.mail.models import Template
    from crm_apps.reports.models import Report

    app = AppInstall.objects.select_for_update().filter(installation=installation).first()
    if app is None:
        return
    owned = app.owned or {}
    PdfTemplate.objects.filter(pk__in=list((owned.get("document_templates") or {}).values())).delete()
    Template.objects.filter(pk__in=list((owned.get("email_templates") or {}).values())).delete()
    Report.objects.filter(pk__in=list((owned.get("reports") or {}).values())).delete()
    _drop_widgets(installation, keep=set())
    app.delete()
