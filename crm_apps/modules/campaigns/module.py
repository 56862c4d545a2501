from django.utils.translation import gettext_lazy as _

from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleSpec, Panel, Related
from crm_apps.modules.campaigns.models import Campaign
from crm_apps.modules.campaigns.panels import members_panel
from crm_apps.modules.campaigns.sample import campaigns_sample
from crm_apps.modules.common import CAMPAIGN_MEMBER_STATUS, CAMPAIGN_STATUS, CAMPAIGN_TYPE, EXPECTED_RESPONSE

DEFAULT_PICKLISTS = {
    "campaign_type": CAMPAIGN_TYPE,
    "campaign_status": CAMPAIGN_STATUS,
    "expected_response": EXPECTED_RESPONSE,
    "campaign_member_status": CAMPAIGN_MEMBER_STATUS,
}

SPEC = register(
    ModuleSpec(
        key="campaigns",
        vtiger_module="Campaigns",
        vtiger_fields={
            "number": "campaign_no",
            "name": "campaignname",
            "type": "campaigntype",
            "status": "campaignstatus",
            "expected_close_date": "closingdate",
            "sponsor": "sponsor",
            "target_audience": "targetaudience",
            "target_size": "targetsize",
            "num_sent": "numsent",
            "budget_cost": "budgetcost",
            "actual_cost": "actualcost",
            "expected_revenue": "expectedrevenue",
            "expected_response": "expectedresponse",
            "expected_sales_count": "expectedsalescount",
            "expected_roi": "expectedroi",
            "description": "description",
        },
        model=Campaign,
        label=_("Campaign"),
        label_plural=_("Campaigns"),
        icon="megaphone",
        default_picklists=DEFAULT_PICKLISTS,
        example={
            "name": "Spring webinar series",
            "type": "Webinar",
            "status": "Planning",
            "expected_close_date": "2027-04-30",
            "budget_cost": "5000.00",
        },
        number_prefix="CAM",
        title_fields=("name",),
        blocks=(
            Block(
                "main",
                _("Campaign"),
                (
                    "name",
                    "type",
                    "status",
                    "expected_close_date",
                    "sponsor",
                    "target_audience",
                    "target_size",
                    "num_sent",
                ),
            ),
            Block(
                "expectations",
                _("Expectations and actuals"),
                (
                    "budget_cost",
                    "actual_cost",
                    "expected_revenue",
                    "expected_response",
                    "expected_sales_count",
                    "expected_roi",
                ),
            ),
            Block("description", _("Description"), ("description",)),
        ),
        list_columns=("name", "type", "status", "expected_close_date", "expected_revenue", "owner"),
        search_fields=("name", "sponsor", "target_audience"),
        filter_fields=("type", "status", "expected_close_date", "expected_response"),
        picklists={
            "type": "campaign_type",
            "status": "campaign_status",
            "expected_response": "expected_response",
        },
        related=(Related("deals", via="campaign", label=_("Deals")),),
        duplicate_rules=(("name",),),
        menu=Menu(group="marketing", position=10),
        urls="crm_apps.modules.campaigns.urls",
        panels=(Panel(key="members", template="campaigns/_members_panel.html", context=members_panel, slot="main"),),
        sample_data=campaigns_sample,
    )
)
