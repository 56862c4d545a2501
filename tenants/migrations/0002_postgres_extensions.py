"""Extensions the CRM engine needs, installed once per database (in `public`, on every search_path)."""

from django.contrib.postgres.operations import BtreeGinExtension, TrigramExtension, UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [TrigramExtension(), BtreeGinExtension(), UnaccentExtension()]
