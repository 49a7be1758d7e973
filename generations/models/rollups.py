"""Analytics rollups (SPEC §4) stored as rows, one per project and dimension value, plus the
per-project state that coalesces refreshes and reports an owner's recompute progress.

Pages and the stats API read only these rows, so their cost does not grow with the number of
takes; workers rebuild them with grouped queries (generations.services.rollups)."""

from django.db import models

from .projects import Project


class Dimension(models.TextChoices):
    PROJECT = "project", "Project total"
    SHOT = "shot", "Shot"
    VERSION = "version", "Prompt version"  # key2: the shot id
    MODEL = "model", "Model"
    PASS = "pass", "Pass"
    DAY = "day", "UTC day of creation"
    REVIEWER = "reviewer", "Reviewer"
    TAG = "tag", "Failure tag"
    TAG_MODEL = "tag_model", "Failure tag by model"  # key: tag slug, key2: model
    TAG_PASS = "tag_pass", "Failure tag by pass"
    TAG_SHOT = "tag_shot", "Failure tag by shot"
    TAG_PAIR = "tag_pair", "Failure tags together"  # key < key2, both slugs


class RollupRow(models.Model):
    """One aggregate. Take dimensions fill takes/reviewed/accepted/spend/seconds; tag rows count
    rejected takes carrying the tag in `takes`; reviewer rows count accept/reject reviews in
    `reviewed`/`accepted` and judged-together pairs in `pairs`/`agreed`."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rollup_rows")
    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    key = models.CharField(max_length=200, blank=True)
    key2 = models.CharField(max_length=200, blank=True)
    # Display name kept with the row so dashboards need no join back to shots or users.
    label = models.CharField(max_length=300, blank=True)
    takes = models.PositiveIntegerField(default=0)
    reviewed = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    spend_usd = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    accepted_seconds = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    pairs = models.PositiveIntegerField(default=0)
    agreed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "dimension", "key", "key2"], name="rollup_row_unique"
            )
        ]
        indexes = [
            # Top rows and cursor pages by takes (the default order of every dimension table).
            models.Index(
                fields=["project", "dimension", "takes", "key", "key2"], name="rollup_row_by_takes"
            ),
            # The rows of one shot (its versions, its failure tags) without scanning the project.
            models.Index(fields=["project", "dimension", "key2"], name="rollup_row_by_key2"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.dimension}:{self.key}:{self.key2}"


class JobState(models.TextChoices):
    IDLE = "", "Idle"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ProjectRollup(models.Model):
    """Refresh bookkeeping for one project.

    `changes` counts writes (bumped inside the writer's transaction, so a dirty mark is never
    lost even when the broker is down); a refresh clears `dirty` only if no write arrived while it
    ran. `queued` is the coalescing claim: one refresh waits in the queue per project at a time."""

    project = models.OneToOneField(
        Project, primary_key=True, on_delete=models.CASCADE, related_name="rollup"
    )
    dirty = models.BooleanField(default=True, db_index=True)
    changes = models.PositiveBigIntegerField(default=0)
    dirty_at = models.DateTimeField(null=True, blank=True)
    queued = models.BooleanField(default=False)
    queued_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every refresh: dashboards poll it and swap only when it moved.
    revision = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    rows_changed = models.PositiveIntegerField(default=0)
    # An owner's explicit recompute, shown as a progress bar.
    job_state = models.CharField(max_length=8, choices=JobState.choices, blank=True, default="")
    job_progress = models.PositiveSmallIntegerField(default=0)
    job_message = models.CharField(max_length=300, blank=True)
    job_updated_at = models.DateTimeField(null=True, blank=True)
    # When the contributions ledger was last rebuilt from SQL; None: the incremental refresh
    # has nothing to subtract from yet and falls back to a full recompute.
    ledger_at = models.DateTimeField(null=True, blank=True)
    # The last refresh that failed (time limit, statement timeout, lost connection): shown on the
    # dashboards until a refresh succeeds; the task itself is retried.
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"rollup of project {self.project_id} (rev {self.revision})"


class RollupCount(models.Model):
    """How many rollup rows a project has per dimension, written with the rows (in the same
    snapshot), so "and N more" on a page costs one indexed read instead of a count over 100k
    rows."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "dimension"], name="rollup_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.dimension}: {self.rows} rows"


class RollupChange(models.Model):
    """A take whose contribution to the rollups may have changed, written by the writer in its
    own transaction. `take_id` is a plain integer, not a foreign key, so a deleted take keeps
    its entry and the refresh can subtract what it contributed. Duplicates are fine."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    take_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"change of take {self.take_id} in project {self.project_id}"


class TakeContribution(models.Model):
    """What one take currently adds to its project's rollup rows, so an incremental refresh can
    subtract the old contribution and add the new one. For every project, the rows equal the sum
    of its takes' contributions (generations.services.rollups.ledger)."""

    take_id = models.BigIntegerField(primary_key=True)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    shot_id = models.BigIntegerField()
    shot_name = models.CharField(max_length=200)
    version_id = models.BigIntegerField()
    version_number = models.PositiveIntegerField()
    model = models.CharField(max_length=80)
    pass_number = models.PositiveIntegerField()
    day = models.DateField()  # UTC day of created_at
    verdict = models.CharField(max_length=8, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=4)
    duration_s = models.DecimalField(max_digits=9, decimal_places=3, null=True, blank=True)
    # Sorted slugs of the current review's tags, only when the current verdict is reject.
    tags = models.JSONField(default=list, blank=True)
    # {reviewer id: [judgements, accepts, latest judgement]} over accept/reject reviews.
    reviews = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"contribution of take {self.take_id}"
