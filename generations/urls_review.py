"""Routes of the review tools: queue, compare and the editors' grid. The review actions
(verdict, undo, note) are take routes in urls.py, shared with the take page."""

from django.urls import path

from .views import compare, grid, queue

urlpatterns = [
    path("projects/<slug:slug>/review/", queue.review_queue, name="review_queue"),
    path("projects/<slug:slug>/review/keys/", queue.review_settings, name="review_settings"),
    path(
        "projects/<slug:slug>/versions/<int:version_id>/checklist/",
        queue.version_checklist,
        name="version_checklist",
    ),
    path("projects/<slug:slug>/compare/", compare.compare_takes, name="compare_takes"),
    path("projects/<slug:slug>/grid/", grid.take_grid, name="take_grid"),
    path("projects/<slug:slug>/grid/tags/", grid.grid_bulk_tag, name="grid_bulk_tag"),
]
