"""Documents (vtiger's Documents): the module spec, the panel on every record and the default folder."""

from django.utils.translation import gettext_lazy as _

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine import extensions
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleSpec, Panel, SettingsPage
from crm_apps.modules.documents.models import Document, Folder
from crm_apps.modules.documents.panels import (
    record_documents_applies,
    record_documents_linked,
    record_documents_panel,
    versions_panel,
)
from crm_apps.modules.documents.sample import documents_sample

DEFAULT_FOLDER = "Default"


def install_defaults() -> None:
    """vtiger's "Default" folder."""
    Folder.objects.get_or_create(name=DEFAULT_FOLDER)


SPEC = register(
    ModuleSpec(
        key="documents",
        vtiger_module="Documents",
        vtiger_fields={
            "number": "note_no",
            "title": "notes_title",
            "folder": "folderid",
            "description": "notecontent",
            "file_name": "filename",
            "file_size": "filesize",
            "content_type": "filetype",
            "current_version": "fileversion",
        },
        model=Document,
        label=_("Document"),
        label_plural=_("Documents"),
        icon="file",
        example={"title": "Price list 2027", "description": "Prices valid from January."},
        number_prefix="DOC",
        title_fields=("title",),
        blocks=(
            Block("main", _("Document"), ("title", "folder", "description")),
            Block("file", _("File"), ("file_name", "file_size", "content_type", "current_version")),
        ),
        readonly_fields=("file_name", "file_size", "content_type", "current_version"),
        list_columns=("title", "folder", "file_name", "current_version", "owner"),
        search_fields=("title", "file_name", "description"),
        filter_fields=("folder",),
        duplicate_rules=(("title",),),
        default_ordering=("-updated_at", "-id"),
        install_defaults=install_defaults,
        menu=Menu(group="tools", position=30),
        urls="crm_apps.modules.documents.urls",
        api_urls="crm_apps.modules.documents.api_urls",
        panels=(Panel(key="versions", template="documents/_versions_panel.html", context=versions_panel, slot="top"),),
        settings_pages=(
            SettingsPage(
                key="folders",
                label=_("Folders"),
                url_name="documents:folders",
                description=_("The folders documents are filed in."),
            ),
        ),
        sample_data=documents_sample,
        sample_data_after=("organizations",),
    )
)

# The documents of every other module's records, with an upload form.
extensions.record_panel_add(
    Panel(
        key="record_documents",
        template="documents/_record_documents_panel.html",
        context=record_documents_panel,
        slot="side",
        linked=record_documents_linked,
    ),
    applies=record_documents_applies,
)
route_scopes_register("api-document-upload", read=["documents:read"], write=["documents:write"])
route_scopes_register("api-document-download", read=["documents:read"], write=None)
route_scopes_register("api-document-version-download", read=["documents:read"], write=None)
route_scopes_register("api-document-versions", read=["documents:read"], write=["documents:write"])
route_scopes_register("api-record-documents", read=["documents:read"], write=["documents:write"])
route_scopes_register("api-document-links", read=["documents:read"], write=["documents:write"])
