from django.db import migrations


def seed(apps, schema_editor):
    """Default prices for the provider adapters' models (generations/taxonomy.py explains
    where each figure comes from); editable afterwards like every ModelPrice."""
    from generations.taxonomy import seed_provider_prices

    seed_provider_prices(apps.get_model("generations", "ModelPrice"))


class Migration(migrations.Migration):
    dependencies = [("generations", "0017_genjob_cleared_at_refused")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
