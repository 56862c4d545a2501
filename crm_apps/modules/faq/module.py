from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop as N_

from crm_apps.engine.registry import register
from crm_apps.engine.spec import Block, Menu, ModuleHooks, ModuleSpec, Panel, Related
from crm_apps.modules.faq.models import Faq
from crm_apps.modules.faq.sample import faq_sample
from crm_apps.modules.faq.services import faq_answer_clean
from crm_apps.modules.faq.views import answer_panel

FAQ_STATUS = [N_("Draft"), N_("Published"), N_("Obsolete")]
FAQ_CATEGORY = [N_("General"), N_("Installation"), N_("Billing"), N_("Troubleshooting")]

SPEC = register(
    ModuleSpec(
        key="faq",
        model=Faq,
        label=_("FAQ entry"),
        label_plural=_("FAQ"),
        icon="help",
        number_prefix="FAQ",
        title_fields=("question",),
        default_picklists={"faq_status": FAQ_STATUS, "faq_category": FAQ_CATEGORY},
        picklists={"status": "faq_status", "category": "faq_category"},
        example={
            "question": "How do I reset the network settings of the printer?",
            "answer": "<p>Hold the <strong>Reset</strong> button for ten seconds.</p>",
            "status": "Published",
            "category": "Troubleshooting",
        },
        blocks=(
            Block("main", _("FAQ entry"), ("question", "status", "category", "product")),
            Block("answer", _("Answer"), ("answer",)),
        ),
        list_columns=("question", "category", "status", "product", "updated_at"),
        search_fields=("question", "answer"),
        filter_fields=("status", "category", "product"),
        related=(Related("tickets", via="faq", label=_("Related tickets")),),
        duplicate_rules=(("question",),),
        hooks=ModuleHooks(clean=faq_answer_clean),
        panels=(Panel(key="answer", template="faq/_answer_panel.html", context=answer_panel, slot="top"),),
        shown_by_panel=("answer",),
        menu=Menu(group="support", position=20),
        sample_data=faq_sample,
        vtiger_module="Faq",
        vtiger_fields={
            "number": "faq_no",
            "question": "question",
            "answer": "faq_answer",
            "status": "faqstatus",
            "category": "faqcategories",
            "product": "product_id",
        },
    )
)
