"""Directory search: a stored, weighted full-text document per partner (GIN index); existing partners
get their document now. The typo fallback uses pg_trgm's functions (tenants 0002)."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations


def fill_documents(apps, schema_editor):
    from marketplace.partners.search import partner_search_vector

    Partner = apps.get_model("partners", "Partner")
    for partner in Partner.objects.all().iterator():
        Partner.objects.filter(pk=partner.pk).update(search_vector=partner_search_vector(partner))


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0003_default_listing_prices"),
        ("tenants", "0002_postgres_extensions"),  # pg_trgm in `public` (similar-name fallback)
    ]

    operations = [
        migrations.AddField(
            model_name="partner",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="partner",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="partner_search_gin"),
        ),
        migrations.RunPython(fill_documents, migrations.RunPython.noop),
    ]
