"""Calls (vtiger's PBX Manager): the module spec, the record panels and the engine hooks it installs."""

from django.utils.translation import gettext_lazy as _

from crm_apps.engine import events, extensions
from crm_apps.engine.display import value_linker_add
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, HomeWidget, Menu, ModuleSpec, Panel, SettingsPage
from crm_apps.modules.calls.home import missed_calls_widget
from crm_apps.modules.calls.links import is_phone_field, phone_linker
from crm_apps.modules.calls.models import Call
from crm_apps.modules.calls.panels import (
    call_matches_panel,
    record_calls_applies,
    record_calls_linked,
    record_calls_panel,
)
from crm_apps.modules.calls.phone_index import on_record_event
from crm_apps.modules.calls.sample import calls_sample

CALL_STATUS = ["Ringing", "Answered", "Missed", "Busy", "Failed"]
CALL_DIRECTION = ["Inbound", "Outbound"]

SPEC = register(
    ModuleSpec(
        key="calls",
        vtiger_module="PBXManager",
        vtiger_fields={
            "direction": "direction",
            "status": "callstatus",
            "from_number": "callfrom",
            "to_number": "callto",
            "customer_number": "customernumber",
            "started_at": "starttime",
            "answered_at": "answeredtime",
            "duration": "totalduration",
            "recording_url": "recordingurl",
            "member": "user",
            "notes": "notes",
            "provider_call_id": "sourceuuid",
        },
        model=Call,
        label=_("Call"),
        label_plural=_("Calls"),
        icon="phone",
        default_picklists={"call_status": CALL_STATUS, "call_direction": CALL_DIRECTION},
        example={
            # The first value is free text: the contract suite edits it.
            "notes": "Asked for the renewal quote.",
            "direction": "Inbound",
            "status": "Answered",
            "from_number": "+1 555 0100",
            "to_number": "+1 555 0199",
            "started_at": "2027-01-11T09:30:00+00:00",
            "duration": 95,
        },
        number_prefix="CALL",
        title_fields=("from_number",),
        blocks=(
            Block(
                "main",
                _("Call"),
                ("direction", "status", "from_number", "to_number", "started_at", "answered_at", "duration", "member"),
            ),
            Block("recording", _("Recording"), ("recording_url", "customer_number")),
            Block("notes", _("Notes"), ("notes",)),
        ),
        readonly_fields=("customer_number",),
        list_columns=("from_number", "to_number", "direction", "status", "started_at", "duration", "member"),
        search_fields=("from_number", "to_number", "customer_number", "notes"),
        filter_fields=("direction", "status", "started_at", "member"),
        picklists={"status": "call_status", "direction": "call_direction"},
        default_ordering=("-started_at", "-created_at"),
        menu=Menu(group="tools", position=20),
        urls="crm_apps.modules.calls.urls",
        api_urls="crm_apps.modules.calls.api_urls",
        panels=(
            Panel(key="call_matches", template="calls/_matches_panel.html", context=call_matches_panel, slot="top"),
        ),
        settings_pages=(
            SettingsPage(
                key="telephony",
                label=_("Telephony"),
                url_name="calls:settings",
                description=_("Default region, click-to-call URL, webhook secret and members' extensions."),
            ),
        ),
        home_widgets=(
            HomeWidget(
                key="missed_calls",
                title=_("Missed calls"),
                template="calls/_home_missed_calls.html",
                context=missed_calls_widget,
                position=35,
            ),
        ),
        sample_data=calls_sample,
        sample_data_after=("contacts", "leads", "organizations"),
    )
)

# Calls on the page of each contact, lead and organisation, with a "Log a call" form.
extensions.record_panel_add(
    Panel(
        key="record_calls",
        template="calls/_record_calls_panel.html",
        context=record_calls_panel,
        slot="side",
        linked=record_calls_linked,
    ),
    applies=record_calls_applies,
)
# Keep the phone-number index in step with contacts, leads and organisations.
events.listener_add(on_record_event)
# Click-to-call links on every phone field.
value_linker_add(phone_linker, applies=is_phone_field)
