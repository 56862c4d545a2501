from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop as N_

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Action, Block, Panel, SettingsPage
from crm_apps.inventory.documents import VTIGER_FIELDS, document_spec
from crm_apps.inventory.panels import stock_panel
from crm_apps.inventory.sample import invoices_sample
from crm_apps.modules.invoices.models import Invoice, InvoiceLine, InvoiceTax
from crm_apps.modules.invoices.panels import payments_panel

STATUSES = [
    N_("AutoCreated"),
    N_("Created"),
    N_("Approved"),
    N_("Sent"),
    N_("Credit Invoice"),
    N_("Paid"),
    N_("Cancel"),
]

SPEC = register(
    document_spec(
        key="invoices",
        model=Invoice,
        line_model=InvoiceLine,
        tax_model=InvoiceTax,
        fk="invoice",
        label=_("Invoice"),
        label_plural=_("Invoices"),
        prefix="INV",
        icon="receipt",
        vtiger_module="Invoice",
        status_picklist="invoice_status",
        statuses=STATUSES,
        header=(
            "subject",
            "status",
            "organization",
            "contact",
            "deal",
            "sales_order",
            "invoice_date",
            "due_date",
            "customer_po",
            "carrier",
        ),
        extra_blocks=(Block("payment", _("Payment"), ("payment_status", "received", "balance")),),
        readonly=("received", "balance", "payment_status"),
        list_columns=("subject", "organization", "status", "grand_total", "balance", "due_date", "owner"),
        filters=(
            "status",
            "payment_status",
            "organization",
            "contact",
            "sales_order",
            "invoice_date",
            "due_date",
            "grand_total",
        ),
        record_actions=(
            Action(key="pdf", label=_("Download PDF"), url_name="invoices:pdf", requires="view"),
            Action(key="preview", label=_("Preview PDF"), url_name="invoices:preview", requires="view"),
            Action(key="send", label=_("Send by email"), url_name="invoices:send", requires="edit"),
        ),
        panels=(
            Panel(key="payments", template="invoices/_payments_panel.html", context=payments_panel, slot="main"),
            stock_panel("invoices"),
        ),
        menu_position=50,
        vtiger_fields={
            **VTIGER_FIELDS,
            "status": "invoicestatus",
            "sales_order": "salesorder_id",
            "invoice_date": "invoicedate",
            "due_date": "duedate",
            "customer_po": "customerno",
            "received": "received",
            "balance": "balance",
        },
        extra_totals=("balance",),
        sample_data=invoices_sample,
        sample_after=("sales-orders",),
        settings_pages=(SettingsPage(key="documents", label=_("Terms, stock and PDF"), url_name="invoices:settings"),),
    )
)

route_scopes_register("api-invoices-pdf", read=["invoices:read"])
route_scopes_register("api-invoices-convert", write=["invoices:write"])
route_scopes_register("api-invoices-send", write=["invoices:write"])
route_scopes_register("api-invoice-payments", read=["invoices:read"], write=["invoices:write"])
