from django.contrib import admin

from .models import (
    ApiToken,
    FailureTag,
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
class ShotAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "target_duration_s"]
    list_filter = ["project"]
    search_fields = ["name"]


@admin.register(PromptVersion)
class PromptVersionAdmin(admin.ModelAdmin):
    list_display = ["shot", "number", "parent", "author", "created_at"]
    list_select_related = ["shot", "parent", "author"]
    raw_id_fields = ["shot", "parent", "author"]
    search_fields = ["text"]


@admin.register(Take)
class TakeAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "model", "pass_number", "status", "current_verdict",
                    "cost_usd", "created_at"]  # fmt: skip
    list_filter = ["status", "current_verdict", "model"]
    list_select_related = ["project"]
    search_fields = ["external_id", "original_filename"]
    raw_id_fields = ["project", "shot", "prompt_version", "current_review"]
    readonly_fields = ["current_review", "current_verdict", "added_at"]


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


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["take", "seconds", "frame", "tag", "author"]
    raw_id_fields = ["take", "review", "author", "tag"]


@admin.register(FailureTag)
class FailureTagAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "group", "position", "is_imported"]
    list_editable = ["position"]
    list_filter = ["group", "is_imported"]


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
