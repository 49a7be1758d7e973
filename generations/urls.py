from django.urls import path
from django.views.generic import RedirectView

from .views import (
    dashboards,
    exports,
    generation,
    imports,
    media,
    portfolio,
    projects,
    prompt_library,
    prompts,
    reviews,
    takes,
    webhooks,
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="project_list"), name="home"),
    path("projects/", projects.project_list, name="project_list"),
    path("projects/new/", projects.project_create, name="project_create"),
    path("portfolio/", portfolio.portfolio, name="portfolio"),
    path("projects/<slug:slug>/", projects.project_detail, name="project_detail"),
    path("projects/<slug:slug>/members/", projects.member_list, name="member_list"),
    path(
        "projects/<slug:slug>/members/<int:membership_id>/",
        projects.member_update,
        name="member_update",
    ),
    path("projects/<slug:slug>/budget/", projects.budget_edit, name="budget_edit"),
    path("projects/<slug:slug>/prompts/", prompt_library.prompt_library, name="prompt_library"),
    path(
        "projects/<slug:slug>/prompts/library.zip",
        prompt_library.prompt_library_download,
        name="prompt_library_download",
    ),
    path("projects/<slug:slug>/webhooks/", webhooks.webhook_list, name="webhook_list"),
    path(
        "projects/<slug:slug>/webhooks/<int:endpoint_id>/",
        webhooks.webhook_detail,
        name="webhook_detail",
    ),
    path(
        "projects/<slug:slug>/webhooks/<int:endpoint_id>/test/",
        webhooks.webhook_test,
        name="webhook_test",
    ),
    path(
        "projects/<slug:slug>/webhooks/<int:endpoint_id>/secret/",
        webhooks.webhook_rotate_secret,
        name="webhook_rotate_secret",
    ),
    path(
        "projects/<slug:slug>/webhooks/<int:endpoint_id>/delete/",
        webhooks.webhook_delete,
        name="webhook_delete",
    ),
    path(
        "projects/<slug:slug>/webhooks/deliveries/<int:delivery_id>/redeliver/",
        webhooks.webhook_redeliver,
        name="webhook_redeliver",
    ),
    # Every row of a stats dimension (shots, prompt versions, reviewers, …), paginated.
    path(
        "projects/<slug:slug>/tables/<str:dimension>/",
        dashboards.stats_table,
        name="stats_table",
    ),
    path(
        "projects/<slug:slug>/export/manifest.jsonl",
        exports.manifest_export,
        name="manifest_export",
    ),
    path("projects/<slug:slug>/export/selects/", exports.selects_export, name="selects_export"),
    path(
        "projects/<slug:slug>/export/selects/media.zip",
        exports.selects_media,
        name="selects_media",
    ),
    path(
        "projects/<slug:slug>/imports/",
        imports.manifest_import_create,
        name="manifest_import_create",
    ),
    path(
        "projects/<slug:slug>/imports/<int:import_id>/",
        imports.manifest_import_detail,
        name="manifest_import_detail",
    ),
    path(
        "projects/<slug:slug>/imports/<int:import_id>/errors.csv",
        imports.manifest_import_errors,
        name="manifest_import_errors",
    ),
    path("projects/<slug:slug>/shots/new/", prompts.shot_create, name="shot_create"),
    path("projects/<slug:slug>/shots/<int:shot_id>/", prompts.shot_detail, name="shot_detail"),
    path(
        "projects/<slug:slug>/shots/<int:shot_id>/versions/new/",
        prompts.version_create,
        name="version_create",
    ),
    path(
        "projects/<slug:slug>/versions/<int:version_id>/",
        prompts.version_detail,
        name="version_detail",
    ),
    path(
        "projects/<slug:slug>/versions/<int:version_id>/upload/",
        takes.take_upload,
        name="take_upload",
    ),
    path(
        "projects/<slug:slug>/versions/<int:version_id>/generate/",
        generation.generation_new,
        name="generation_new",
    ),
    path(
        "projects/<slug:slug>/versions/<int:version_id>/generate/estimate/",
        generation.generation_estimate,
        name="generation_estimate",
    ),
    path(
        "projects/<slug:slug>/versions/<int:version_id>/takes/",
        generation.version_takes,
        name="version_takes",
    ),
    path(
        "projects/<slug:slug>/generations/",
        generation.generation_batches,
        name="generation_batches",
    ),
    path(
        "projects/<slug:slug>/generations/<int:batch_id>/approve/",
        generation.generation_batch_approve,
        name="generation_batch_approve",
    ),
    path(
        "projects/<slug:slug>/generations/<int:batch_id>/reject/",
        generation.generation_batch_reject,
        name="generation_batch_reject",
    ),
    path(
        "projects/<slug:slug>/generations/<int:batch_id>/cancel/",
        generation.generation_batch_cancel,
        name="generation_batch_cancel",
    ),
    path(
        "projects/<slug:slug>/generations/jobs/<int:job_id>/cancel/",
        generation.generation_job_cancel,
        name="generation_job_cancel",
    ),
    path("projects/<slug:slug>/takes/<int:take_id>/", takes.take_detail, name="take_detail"),
    # Review actions of both the take page and the review queue (views/reviews.py).
    path(
        "projects/<slug:slug>/takes/<int:take_id>/verdict/",
        reviews.review_verdict,
        name="review_verdict",
    ),
    path("projects/<slug:slug>/takes/<int:take_id>/undo/", reviews.review_undo, name="review_undo"),
    path(
        "projects/<slug:slug>/takes/<int:take_id>/notes/", reviews.review_note, name="review_note"
    ),
    path(
        "projects/<slug:slug>/takes/<int:take_id>/media/<str:kind>/",
        media.take_media,
        name="take_media",
    ),
]
