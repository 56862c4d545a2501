from django.utils.translation import gettext_lazy as _

from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleHooks, ModuleSpec, Related
from crm_apps.modules.servicecontracts import picklists as P
from crm_apps.modules.servicecontracts.models import ServiceContract
from crm_apps.modules.servicecontracts.sample import contracts_sample
from crm_apps.modules.servicecontracts.services import contract_state_apply

SPEC = register(
    ModuleSpec(
        key="service-contracts",
        model=ServiceContract,
        label=_("Service contract"),
        label_plural=_("Service contracts"),
        icon="file-check",
        number_prefix="SERCON",
        title_fields=("subject",),
        default_picklists={
            "contract_type": P.CONTRACT_TYPE,
            "contract_status": P.CONTRACT_STATUS,
            "contract_priority": P.CONTRACT_PRIORITY,
            "contract_tracking_unit": P.TRACKING_UNIT,
            "contract_usage_warning": P.USAGE_WARNING,
        },
        picklists={
            "type": "contract_type",
            "status": "contract_status",
            "priority": "contract_priority",
            "tracking_unit": "contract_tracking_unit",
            "usage_warning": "contract_usage_warning",
        },
        example={
            "subject": "Premium support 2027",
            "type": "Support",
            "status": "In Progress",
            "tracking_unit": "Hours",
            "total_units": "40.00",
            "start_date": "2027-01-01",
            "due_date": "2027-12-31",
        },
        blocks=(
            Block(
                "main",
                _("Service contract"),
                ("subject", "organization", "contact", "type", "status", "priority"),
            ),
            Block(
                "units",
                _("Units and dates"),
                (
                    "tracking_unit",
                    "total_units",
                    "used_units",
                    "progress",
                    "usage_warning",
                    "start_date",
                    "due_date",
                    "end_date",
                    "planned_duration",
                    "actual_duration",
                ),
            ),
            Block("description", _("Description"), ("description",)),
        ),
        readonly_fields=("used_units", "progress", "usage_warning", "end_date", "planned_duration", "actual_duration"),
        list_columns=(
            "subject",
            "organization",
            "status",
            "tracking_unit",
            "total_units",
            "used_units",
            "usage_warning",
        ),
        search_fields=("subject",),
        filter_fields=("status", "type", "organization", "usage_warning", "due_date"),
        related=(Related("tickets", via="service_contract", label=_("Tickets")),),
        hooks=ModuleHooks(before_save=contract_state_apply),
        menu=Menu(group="support", position=30),
        sample_data=contracts_sample,
        sample_data_after=("organizations",),
        vtiger_module="ServiceContracts",
        vtiger_fields={
            "number": "contract_no",
            "subject": "subject",
            "organization": "sc_related_to",
            "type": "contract_type",
            "status": "contract_status",
            "priority": "contract_priority",
            "tracking_unit": "tracking_unit",
            "total_units": "total_units",
            "used_units": "used_units",
            "start_date": "start_date",
            "due_date": "due_date",
            "end_date": "end_date",
            "planned_duration": "planned_duration",
            "actual_duration": "actual_duration",
            "progress": "progress",
            "description": "description",
        },
    )
)
