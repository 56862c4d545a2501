from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from crm_apps.access.api.scopes import route_scopes_register
from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, HomeWidget, Menu, ModuleHooks, ModuleSpec, Panel, SettingsPage
from crm_apps.modules.common import DEAL_TYPE, LEAD_SOURCE
from crm_apps.modules.deals.home import closing_this_month_widget, open_deals_widget
from crm_apps.modules.deals.models import Deal
from crm_apps.modules.deals.panels import pipeline_board, stage_history_panel, stage_panel
from crm_apps.modules.deals.sample import deals_sample
from crm_apps.modules.deals.services import deal_clean, deal_set_stage, pipeline_defaults_install, stage_history_append


def _forecast(deal: Deal) -> None:
    """forecast = amount x probability / 100 (vtiger's default workflow), kept true on every save."""
    if deal.amount is None:
        deal.forecast_amount = None
    else:
        deal.forecast_amount = (Decimal(deal.amount) * Decimal(deal.probability or 0) / Decimal(100)).quantize(
            Decimal("0.01")
        )


DEFAULT_PICKLISTS = {"deal_type": DEAL_TYPE, "lead_source": LEAD_SOURCE}

SPEC = register(
    ModuleSpec(
        key="deals",
        sharing_parent="organization",
        sharing_follows_parent=False,
        model=Deal,
        label=_("Deal"),
        label_plural=_("Deals"),
        icon="handshake",
        default_picklists=DEFAULT_PICKLISTS,
        example={
            "name": "Globex hammock order",
            "amount": "12500.00",
            "currency": "USD",
            "close_date": "2027-03-31",
        },
        number_prefix="POT",
        title_fields=("name",),
        blocks=(
            Block(
                "main",
                _("Deal"),
                (
                    "name",
                    "organization",
                    "contact",
                    "amount",
                    "currency",
                    "close_date",
                    "pipeline",
                    "stage",
                    "probability",
                    "forecast_amount",
                    "type",
                    "next_step",
                    "lead_source",
                    "campaign",
                    "won_lost_reason",
                    "closed_at",
                    "source_lead",
                ),
            ),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "organization", "amount", "stage", "close_date", "owner"),
        search_fields=("name", "next_step"),
        filter_fields=(
            "pipeline",
            "stage",
            "organization",
            "contact",
            "type",
            "lead_source",
            "close_date",
            "campaign",
            "amount",
        ),
        picklists={"type": "deal_type", "lead_source": "lead_source"},
        kanban_field="stage",
        duplicate_rules=(("name", "organization"),),
        readonly_fields=("forecast_amount", "closed_at", "source_lead"),
        hooks=ModuleHooks(clean=deal_clean, before_save=_forecast, after_save=stage_history_append),  # type: ignore[arg-type]
        install_defaults=pipeline_defaults_install,
        menu=Menu(group="sales", position=40),
        urls="crm_apps.modules.deals.urls",
        api_urls="crm_apps.modules.deals.api_urls",
        panels=(
            Panel(key="stage", template="deals/_stage_panel.html", context=stage_panel, slot="top"),
            Panel(key="stage_history", template="deals/_stage_history.html", context=stage_history_panel, slot="side"),
        ),
        home_widgets=(
            HomeWidget(
                key="closing_this_month",
                title=_("Deals closing this month"),
                template="deals/_home_closing.html",
                context=closing_this_month_widget,
                position=40,
            ),
            HomeWidget(
                key="open_deals",
                title=_("My open deals"),
                template="deals/_home_open_deals.html",
                context=open_deals_widget,
                position=60,
            ),
        ),
        settings_pages=(
            SettingsPage(
                key="pipelines",
                label=_("Pipelines"),
                url_name="deals:pipelines",
                description=_("Pipelines and their stages: names, order, probabilities, won and lost"),
            ),
        ),
        board_columns=pipeline_board,
        board_move=lambda actor, deal, stage_id: deal_set_stage(actor=actor, deal=deal, stage_id=stage_id),
        sample_data=deals_sample,
        sample_data_after=("organizations", "contacts"),
    )
)


# Scoped extension tokens: pipelines are read with the deals, stage/move/close write a deal.
route_scopes_register("api-pipelines", read=["deals:read"])
route_scopes_register("api-deal-action", write=["deals:write"])
route_scopes_register("api-pipeline-labels", write=["deals:write"])
