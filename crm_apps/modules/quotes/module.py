from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop as N_

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine import extensions
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Action, Panel, Related, SettingsPage
from crm_apps.inventory.documents import VTIGER_FIELDS, document_spec
from crm_apps.inventory.panels import convert_panel, deal_quotes_linked, deal_quotes_panel
from crm_apps.inventory.sample import quotes_sample
from crm_apps.modules.quotes.models import Quote, QuoteLine, QuoteTax

STATUSES = [N_("Created"), N_("Delivered"), N_("Reviewed"), N_("Accepted"), N_("Rejected")]

SPEC = register(
    document_spec(
        key="quotes",
        model=Quote,
        line_model=QuoteLine,
        tax_model=QuoteTax,
        fk="quote",
        label=_("Quote"),
        label_plural=_("Quotes"),
        prefix="QUO",
        icon="file-text",
        vtiger_module="Quotes",
        status_picklist="quote_stage",
        statuses=STATUSES,
        header=("subject", "status", "organization", "contact", "deal", "valid_until", "carrier"),
        list_columns=("subject", "organization", "status", "grand_total", "valid_until", "owner"),
        filters=("status", "organization", "contact", "deal", "valid_until", "grand_total"),
        related=(Related("sales-orders", via="quote"),),
        record_actions=(
            Action(key="pdf", label=_("Download PDF"), url_name="quotes:pdf", requires="view"),
            Action(key="preview", label=_("Preview PDF"), url_name="quotes:preview", requires="view"),
            Action(key="send", label=_("Send by email"), url_name="quotes:send", requires="edit"),
        ),
        panels=(convert_panel("quotes", (("sales_order", _("Create sales order")),)),),
        menu_position=30,
        vtiger_fields={**VTIGER_FIELDS, "status": "quotestage", "valid_until": "validtill"},
        sample_data=quotes_sample,
        sample_after=("organizations", "contacts", "deals", "products", "services"),
        settings_pages=(SettingsPage(key="documents", label=_("Terms and PDF"), url_name="quotes:settings"),),
    )
)

# A deal's page offers "Create quote" and lists its quotes (the deals package stays untouched).
extensions.record_panel_add(
    Panel(
        key="deal_quotes",
        template="inventory/_deal_quotes_panel.html",
        context=deal_quotes_panel,
        slot="main",
        linked=deal_quotes_linked,
    ),
    applies=lambda spec: spec.key == "deals",
)

route_scopes_register("api-quotes-pdf", read=["quotes:read"])
route_scopes_register("api-quotes-convert", write=["quotes:write", "sales-orders:write"])
route_scopes_register("api-quotes-send", write=["quotes:write"])
route_scopes_register("api-deals-convert", write=["deals:write", "quotes:write"])
