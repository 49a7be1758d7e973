"""Review.kind: whether a review is a reviewer's own judgement (`verdict`) or was written by an
undo (`undo`) or a bulk tag edit (`bulk`); only verdicts count in the per-reviewer statistics.

Backfill: before this field, the services marked these reviews only by their comment.
`review_undo` wrote "Undo" (undoing a first verdict) or "Undo: restores the verdict of …", and
`takes_bulk_tag` wrote "Bulk tag edit". So a comment starting with "Bulk tag edit" → bulk, with
"Undo" → undo, anything else → verdict (the default). An imported review whose comment happened
to start with those words is classified the same way; nothing else can tell them apart."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    Review = apps.get_model("generations", "Review")
    Review.objects.filter(comment__startswith="Bulk tag edit").update(kind="bulk")
    Review.objects.filter(comment__startswith="Undo").update(kind="undo")


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0005_take_provenance"),
    ]

    operations = [
        migrations.AddField(
            model_name="review",
            name="kind",
            field=models.CharField(
                choices=[("verdict", "Verdict"), ("undo", "Undo"), ("bulk", "Bulk tag edit")],
                default="verdict",
                max_length=8,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
