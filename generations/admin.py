"""The admin writes through the services, or tells the rollups what it changed: an edit here
must reach the dashboards like one made in the app, not wait for the nightly check."""

from collections import defaultdict

from django.contrib import admin
from django.db import models, transaction

from .models import (
    ApiToken,
    FailureTag,
    GenerationBatch,
    GenerationJob,
    Membership,
    ModelPrice,
    Note,
    Project,
    ProjectRollup,
    PromptVersion,
    Review,
    Shot,
    Take,
)
from .services.reviews import review_added_elsewhere, review_delete
from .services.rollups import rollups_schedule, rollups_schedule_full
from .services.takes import take_delete


def _schedule_takes(takes) -> None:
    """Schedule a refresh for these takes (a queryset or (project id, take id) pairs)."""
    by_project = defaultdict(list)
    for project_id, take_id in takes:
        by_project[project_id].append(take_id)
    for project_id, take_ids in by_project.items():
        rollups_schedule(project_id=project_id, take_ids=take_ids)


def _take_pairs(**lookup) -> list[tuple[int, int]]:
    return list(Take.objects.filter(**lookup).values_list("project_id", "pk"))


class CascadesToTakesAdmin(admin.ModelAdmin):
    """Deleting this object deletes takes: collect them first, schedule them after."""

    take_lookup = ""  # Take filter naming this model, e.g. "shot"

    def delete_model(self, request, obj):
        with transaction.atomic():
            takes = _take_pairs(**{self.take_lookup: obj})
            super().delete_model(request, obj)
            _schedule_takes(takes)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            takes = _take_pairs(**{f"{self.take_lookup}__in": list(queryset)})
            super().delete_queryset(request, queryset)
            _schedule_takes(takes)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "budget_usd", "deadline", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role", "is_owner"]
    list_filter = ["role", "is_owner"]
    raw_id_fields = ["user", "project"]


@admin.register(Shot)
class ShotAdmin(CascadesToTakesAdmin):
    list_display = ["name", "project", "target_duration_s"]
    list_filter = ["project"]
    search_fields = ["name"]
    take_lookup = "shot"

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and form.changed_data:
                # A rename relabels the shot's rows: only a full recompute rewrites labels.
                rollups_schedule_full(project_ids=[obj.project_id])


@admin.register(PromptVersion)
class PromptVersionAdmin(CascadesToTakesAdmin):
    list_display = ["shot", "number", "parent", "author", "created_at"]
    list_select_related = ["shot", "parent", "author"]
    raw_id_fields = ["shot", "parent", "author"]
    search_fields = ["text"]
    take_lookup = "prompt_version"

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and form.changed_data:
                rollups_schedule_full(project_ids=[obj.shot.project_id])


@admin.register(Take)
class TakeAdmin(CascadesToTakesAdmin):
    # Provider URLs typed without a scheme are https (Django 6's default, without the warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["external_id", "project", "model", "pass_number", "status", "current_verdict",
                    "cost_usd", "created_at"]  # fmt: skip
    list_filter = ["status", "current_verdict", "model"]
    list_select_related = ["project"]
    search_fields = ["external_id", "original_filename"]
    raw_id_fields = ["project", "shot", "prompt_version", "current_review"]
    readonly_fields = ["current_review", "current_verdict", "added_at", "processing_claimed_at"]
    take_lookup = "pk"

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            takes = [(obj.project_id, obj.pk)]
            if change and "project" in form.changed_data and form.initial.get("project"):
                takes.append((form.initial["project"], obj.pk))  # moved: the old project too
            _schedule_takes(takes)

    def delete_model(self, request, obj):
        take_delete(take=obj)  # its files too

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for take in queryset.order_by("pk"):
                take_delete(take=take)


class NoteInline(admin.TabularInline):
    model = Note
    extra = 0
    raw_id_fields = ["take", "author", "tag"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["take", "reviewer", "verdict", "created_at"]
    list_filter = ["verdict"]
    raw_id_fields = ["take", "reviewer"]
    inlines = [NoteInline]

    # Append-only history: the admin may read and add, not rewrite.
    def has_change_permission(self, request, obj=None):
        return False

    def save_related(self, request, form, formsets, change):
        # An added review (with its tags and notes) may be the take's latest: same as the app.
        super().save_related(request, form, formsets, change)
        review_added_elsewhere(review=form.instance)

    def delete_model(self, request, obj):
        review_delete(review=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for review in queryset.order_by("pk"):
                review_delete(review=review)


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["take", "seconds", "frame", "tag", "author"]
    raw_id_fields = ["take", "review", "author", "tag"]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            _schedule_takes(_take_pairs(pk=obj.take_id))

    def delete_model(self, request, obj):
        with transaction.atomic():
            takes = _take_pairs(pk=obj.take_id)
            super().delete_model(request, obj)
            _schedule_takes(takes)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            takes = _take_pairs(pk__in=list(queryset.values_list("take_id", flat=True)))
            super().delete_queryset(request, queryset)
            _schedule_takes(takes)


@admin.register(FailureTag)
class FailureTagAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "group", "position", "is_imported"]
    list_editable = ["position"]
    list_filter = ["group", "is_imported"]
    # Tags are shared by every project: a rename or delete relabels or removes rows everywhere.
    relabels = {"slug", "name", "group"}

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and self.relabels & set(form.changed_data):
                rollups_schedule_full()

    def delete_model(self, request, obj):
        with transaction.atomic():
            super().delete_model(request, obj)
            rollups_schedule_full()

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            super().delete_queryset(request, queryset)
            rollups_schedule_full()


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ["model", "usd_per_second", "valid_from", "project"]
    list_filter = ["model"]


@admin.register(ProjectRollup)
class ProjectRollupAdmin(admin.ModelAdmin):
    list_display = ["project", "dirty", "queued", "revision", "computed_at", "duration_ms",
                    "job_state", "job_progress"]  # fmt: skip
    readonly_fields = ["project"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at"]
    raw_id_fields = ["user"]
    readonly_fields = ["key_hash", "prefix", "last_used_at"]


class GenerationJobInline(admin.TabularInline):
    model = GenerationJob
    extra = 0
    can_delete = False
    fields = ["status", "seed", "provider_job_id", "progress", "attempts", "last_error", "take"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(GenerationBatch)
class GenerationBatchAdmin(admin.ModelAdmin):
    """Read-only: batches and jobs change state through the generation services only."""

    list_display = ["created_at", "project", "provider", "model", "count", "estimate_usd", "status"]
    list_filter = ["status", "provider"]
    inlines = [GenerationJobInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ["created_at", "project", "provider", "model", "status", "attempts", "take"]
    list_filter = ["status", "provider"]
    search_fields = ["provider_job_id"]
    raw_id_fields = ["take"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
