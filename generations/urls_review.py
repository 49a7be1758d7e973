"""Routes of the review tools: queue, compare and the editors' grid."""

from django.urls import path

from .views import compare, grid, review

urlpatterns = [
    path("projects/<slug:slug>/review/", review.review_queue, name="review_queue"),
    path("projects/<slug:slug>/review/keys/", review.review_settings, name="review_settings"),
    path(
        "projects/<slug:slug>/review/<int:take_id>/verdict/",
        review.review_verdict,
        name="review_verdict",
    ),
    path("projects/<slug:slug>/review/<int:take_id>/undo/", review.review_undo, name="review_undo"),
    path(
        "projects/<slug:slug>/review/<int:take_id>/notes/", review.review_note, name="review_note"
    ),
    path(
        "projects/<slug:slug>/versions/<int:version_id>/checklist/",
        review.version_checklist,
        name="version_checklist",
    ),
    path("projects/<slug:slug>/compare/", compare.compare_takes, name="compare_takes"),
    path("projects/<slug:slug>/grid/", grid.take_grid, name="take_grid"),
    path("projects/<slug:slug>/grid/tags/", grid.grid_bulk_tag, name="grid_bulk_tag"),
]
