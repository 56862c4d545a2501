from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop as N_

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Action, SettingsPage
from crm_apps.inventory.documents import VTIGER_FIELDS, document_spec
from crm_apps.inventory.panels import stock_panel
from crm_apps.inventory.sample import purchase_orders_sample
from crm_apps.modules.purchaseorders.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderTax

STATUSES = [N_("Created"), N_("Approved"), N_("Delivered"), N_("Received Shipment"), N_("Cancelled")]

SPEC = register(
    document_spec(
        key="purchase-orders",
        model=PurchaseOrder,
        line_model=PurchaseOrderLine,
        tax_model=PurchaseOrderTax,
        fk="purchase_order",
        label=_("Purchase order"),
        label_plural=_("Purchase orders"),
        prefix="PO",
        icon="package",
        vtiger_module="PurchaseOrder",
        status_picklist="purchaseorder_status",
        statuses=STATUSES,
        header=(
            "subject",
            "status",
            "vendor",
            "contact",
            "sales_order",
            "requisition_number",
            "tracking_number",
            "due_date",
            "carrier",
        ),
        list_columns=("subject", "vendor", "status", "grand_total", "due_date", "owner"),
        filters=("status", "vendor", "contact", "sales_order", "due_date", "grand_total"),
        record_actions=(
            Action(key="pdf", label=_("Download PDF"), url_name="purchase-orders:pdf", requires="view"),
            Action(key="preview", label=_("Preview PDF"), url_name="purchase-orders:preview", requires="view"),
            Action(key="send", label=_("Send by email"), url_name="purchase-orders:send", requires="edit"),
        ),
        panels=(stock_panel("purchase-orders"),),
        menu_position=60,
        vtiger_fields={
            **VTIGER_FIELDS,
            "status": "postatus",
            "vendor": "vendor_id",
            "sales_order": "salesorder_id",
            "requisition_number": "requisition_no",
            "tracking_number": "tracking_no",
            "due_date": "duedate",
        },
        sample_data=purchase_orders_sample,
        sample_after=("vendors", "products", "services"),
        settings_pages=(
            SettingsPage(key="documents", label=_("Terms, stock and PDF"), url_name="purchase-orders:settings"),
        ),
    )
)

route_scopes_register("api-purchaseorders-pdf", read=["purchase-orders:read"])
route_scopes_register("api-purchaseorders-convert", write=["purchase-orders:write"])
route_scopes_register("api-purchaseorders-send", write=["purchase-orders:write"])
