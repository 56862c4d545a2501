"""vtiger's default picklist values of products (`include/ComboStrings.php`), marked for translation."""

from django.utils.translation import gettext_noop as N_

PRODUCT_CATEGORY = [N_("Hardware"), N_("Software"), N_("CRM Applications")]
MANUFACTURER = [N_("AltvetPet Inc."), N_("LexPon Inc."), N_("MetBeat Corp")]
USAGE_UNIT = [
    N_("Box"),
    N_("Carton"),
    N_("Dozen"),
    N_("Each"),
    N_("Hours"),
    N_("Impressions"),
    N_("Lb"),
    N_("M"),
    N_("Pack"),
    N_("Pages"),
    N_("Pieces"),
    N_("Quantity"),
    N_("Reams"),
    N_("Sheet"),
    N_("Spiral Binder"),
    N_("Sq Ft"),
]
