from django.db import migrations

DEFAULTS = [("month", "usd", 4900), ("year", "usd", 49000), ("month", "eur", 4500), ("year", "eur", 45000)]


def seed(apps, schema_editor):
    ListingPrice = apps.get_model("partners", "ListingPrice")
    for period, currency, amount in DEFAULTS:
        ListingPrice.objects.get_or_create(period=period, currency=currency, defaults={"amount": amount})


class Migration(migrations.Migration):
    dependencies = [("partners", "0002_team_leads_listing_access")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
