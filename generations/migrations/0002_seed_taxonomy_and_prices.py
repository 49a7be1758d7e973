import datetime
from decimal import Decimal

from django.db import migrations


def seed(apps, schema_editor):
    from generations.taxonomy import DEFAULT_PRICES, FAILURE_TAGS

    FailureTag = apps.get_model("generations", "FailureTag")
    ModelPrice = apps.get_model("generations", "ModelPrice")
    for position, (slug, name, group, definition, benchmark, remediation) in enumerate(
        FAILURE_TAGS, start=1
    ):
        FailureTag.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "group": group,
                "definition": definition,
                "benchmark": benchmark,
                "remediation": remediation,
                "position": position,
            },
        )
    since = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    for model, price in DEFAULT_PRICES.items():
        ModelPrice.objects.get_or_create(
            project=None, model=model, valid_from=since,
            defaults={"usd_per_second": Decimal(price)},
        )


class Migration(migrations.Migration):
    dependencies = [("generations", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
