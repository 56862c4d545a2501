from django.utils.translation import gettext_lazy as _

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Action, Block, HomeWidget, Menu, ModuleHooks, ModuleSpec, Panel, SettingsPage
from crm_apps.modules.tickets import picklists as P
from crm_apps.modules.tickets.home import my_tickets_widget
from crm_apps.modules.tickets.models import Ticket
from crm_apps.modules.tickets.panels import conversation_panel, sla_panel
from crm_apps.modules.tickets.sample import tickets_sample
from crm_apps.modules.tickets.services import ticket_clean, ticket_defaults_install, ticket_hooks_before_save

READ_ONLY = (
    "contract_flag",
    "sla_status",
    "first_response_due",
    "first_response_at",
    "resolution_due",
    "closed_at",
    "first_response_breached",
    "resolution_breached",
    "escalated_at",
)

SPEC = register(
    ModuleSpec(
        key="tickets",
        model=Ticket,
        label=_("Ticket"),
        label_plural=_("Tickets"),
        icon="lifebuoy",
        number_prefix="TT",
        title_fields=("title",),
        default_picklists={
            "ticket_status": P.TICKET_STATUS,
            "ticket_priority": P.TICKET_PRIORITY,
            "ticket_severity": P.TICKET_SEVERITY,
            "ticket_category": P.TICKET_CATEGORY,
            "ticket_channel": P.TICKET_CHANNEL,
            "ticket_sla_status": P.TICKET_SLA_STATUS,
            "ticket_contract_flag": P.TICKET_CONTRACT_FLAG,
        },
        picklists={
            "status": "ticket_status",
            "priority": "ticket_priority",
            "severity": "ticket_severity",
            "category": "ticket_category",
            "channel": "ticket_channel",
            "sla_status": "ticket_sla_status",
            "contract_flag": "ticket_contract_flag",
        },
        example={
            "title": "Printer shows error E42",
            "status": "Open",
            "priority": "High",
            "severity": "Major",
            "category": "Small Problem",
            "channel": "Email",
            "description": "The printer on the second floor stops with E42 after every job.",
        },
        blocks=(
            Block(
                "main",
                _("Ticket"),
                ("title", "status", "priority", "severity", "category", "channel", "team", "due_date"),
            ),
            Block(
                "customer",
                _("Customer"),
                ("organization", "contact", "product", "asset", "service_contract", "contract_flag"),
            ),
            Block("description", _("Description"), ("description",)),
            Block("solution", _("Solution"), ("solution", "hours_spent", "satisfaction", "faq")),
            Block(
                "sla",
                _("SLA"),
                (
                    "sla_status",
                    "first_response_due",
                    "first_response_at",
                    "resolution_due",
                    "closed_at",
                    "first_response_breached",
                    "resolution_breached",
                    "escalated_at",
                ),
            ),
        ),
        readonly_fields=READ_ONLY,
        list_columns=("title", "status", "priority", "sla_status", "contact", "resolution_due", "owner"),
        search_fields=("title", "description", "solution"),
        filter_fields=(
            "status",
            "priority",
            "severity",
            "category",
            "channel",
            "sla_status",
            "contract_flag",
            "team",
            "organization",
            "contact",
            "product",
            "asset",
            "service_contract",
            "resolution_due",
        ),
        kanban_field="status",
        install_defaults=ticket_defaults_install,
        duplicate_rules=(("title", "contact"),),
        hooks=ModuleHooks(clean=ticket_clean, before_save=ticket_hooks_before_save),
        panels=(
            Panel(key="sla", template="tickets/_sla_panel.html", context=sla_panel, slot="top"),
            Panel(
                key="conversation", template="tickets/_conversation_panel.html", context=conversation_panel, slot="top"
            ),
        ),
        record_actions=(
            Action(
                key="close",
                label=_("Close with solution"),
                url_name="tickets:close",
                requires="edit",
                condition=lambda ticket: ticket.status != P.CLOSED,
                primary=True,
            ),
            Action(
                key="to_faq",
                label=_("Turn into FAQ"),
                url_name="tickets:to_faq",
                requires="edit",
                condition=lambda ticket: bool((ticket.solution or "").strip()) and not ticket.faq_id,
                method="post",
            ),
            Action(
                key="assign_next",
                label=_("Assign to next in team"),
                url_name="tickets:assign_next",
                requires="edit",
                condition=lambda ticket: bool(ticket.team_id or ticket.owner_group_id),
                method="post",
            ),
        ),
        list_actions=(Action(key="queue", label=_("Queues"), url_name="tickets:queue", requires="view"),),
        home_widgets=(
            HomeWidget(
                key="my_tickets",
                title=_("My open tickets"),
                template="tickets/_home_mine.html",
                context=my_tickets_widget,
                position=50,
            ),
        ),
        urls="crm_apps.modules.tickets.urls",
        api_urls="crm_apps.modules.tickets.api_urls",
        settings_pages=(
            SettingsPage(
                key="sla",
                label=_("SLA and business hours"),
                url_name="tickets:sla_settings",
                description=_("Response and resolution targets per priority, business hours, holidays, round robin."),
            ),
        ),
        menu=Menu(group="support", position=10),
        sample_data=tickets_sample,
        sample_data_after=("contacts", "organizations", "products", "assets", "service-contracts"),
        vtiger_module="HelpDesk",
        vtiger_fields={
            "number": "ticket_no",
            "title": "ticket_title",
            "status": "ticketstatus",
            "priority": "ticketpriorities",
            "severity": "ticketseverities",
            "category": "ticketcategories",
            "organization": "parent_id",
            "contact": "contact_id",
            "product": "product_id",
            "hours_spent": "hours",
            "solution": "solution",
            "description": "description",
        },
    )
)

route_scopes_register("api-ticket-replies", read=["tickets:read"], write=["tickets:write"])
route_scopes_register("api-ticket-close", write=["tickets:write"])
route_scopes_register("api-ticket-action", write=["tickets:write"])
route_scopes_register("api-sla-policies", read=["tickets:read"], write=["tickets:write"])
route_scopes_register("api-sla-policy", read=["tickets:read"], write=["tickets:write"])
route_scopes_register("api-business-hours", read=["tickets:read"], write=["tickets:write"])
