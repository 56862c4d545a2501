from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop as N_

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Action, Block, Related, SettingsPage
from crm_apps.inventory.documents import VTIGER_FIELDS, document_spec
from crm_apps.inventory.panels import convert_panel
from crm_apps.inventory.sample import sales_orders_sample
from crm_apps.modules.salesorders.models import SalesOrder, SalesOrderLine, SalesOrderTax

STATUSES = [N_("Created"), N_("Approved"), N_("Delivered"), N_("Cancelled")]

SPEC = register(
    document_spec(
        key="sales-orders",
        model=SalesOrder,
        line_model=SalesOrderLine,
        tax_model=SalesOrderTax,
        fk="sales_order",
        label=_("Sales order"),
        label_plural=_("Sales orders"),
        prefix="SO",
        icon="clipboard-list",
        vtiger_module="SalesOrder",
        status_picklist="salesorder_status",
        statuses=STATUSES,
        header=("subject", "status", "organization", "contact", "deal", "quote", "customer_po", "due_date", "carrier"),
        extra_blocks=(
            Block(
                "recurring",
                _("Recurring invoices"),
                (
                    "recurring_enabled",
                    "recurring_frequency",
                    "recurring_start",
                    "recurring_end",
                    "payment_terms_days",
                    "recurring_invoice_status",
                    "last_recurring_date",
                ),
            ),
        ),
        readonly=("last_recurring_date",),
        list_columns=("subject", "organization", "status", "grand_total", "due_date", "owner"),
        filters=("status", "organization", "contact", "deal", "quote", "due_date", "grand_total", "recurring_enabled"),
        related=(Related("invoices", via="sales_order"), Related("purchase-orders", via="sales_order")),
        record_actions=(
            Action(key="pdf", label=_("Download PDF"), url_name="sales-orders:pdf", requires="view"),
            Action(key="preview", label=_("Preview PDF"), url_name="sales-orders:preview", requires="view"),
            Action(key="send", label=_("Send by email"), url_name="sales-orders:send", requires="edit"),
        ),
        panels=(
            convert_panel(
                "sales-orders",
                (("invoice", _("Create invoice")), ("purchase_order", _("Create purchase orders"))),
            ),
        ),
        menu_position=40,
        vtiger_fields={
            **VTIGER_FIELDS,
            "status": "sostatus",
            "quote": "quote_id",
            "customer_po": "customerno",
            "due_date": "duedate",
            "recurring_enabled": "enable_recurring",
            "recurring_frequency": "recurring_frequency",
            "recurring_start": "start_period",
            "recurring_end": "end_period",
            "payment_terms_days": "payment_duration",
            "recurring_invoice_status": "invoicestatus",
        },
        sample_data=sales_orders_sample,
        sample_after=("quotes",),
        settings_pages=(SettingsPage(key="documents", label=_("Terms and PDF"), url_name="sales-orders:settings"),),
        extra_picklists={"recurring_invoice_status": "invoice_status"},
    )
)

route_scopes_register("api-salesorders-pdf", read=["sales-orders:read"])
route_scopes_register(
    "api-salesorders-convert", write=["sales-orders:write", "invoices:write", "purchase-orders:write"]
)
route_scopes_register("api-salesorders-send", write=["sales-orders:write"])
