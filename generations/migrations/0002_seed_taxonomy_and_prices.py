from django.db import migrations


def seed(apps, schema_editor):
    from generations.taxonomy import seed_reference_data

    seed_reference_data(
        apps.get_model("generations", "FailureTag"), apps.get_model("generations", "ModelPrice")
    )


class Migration(migrations.Migration):
    dependencies = [("generations", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
