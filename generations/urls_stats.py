from django.urls import path

from .views import dashboards, tokens

urlpatterns = [
    path(
        "projects/<slug:slug>/dashboards/",
        dashboards.dashboard,
        {"kind": "producer"},
        name="dashboards",
    ),
    path("projects/<slug:slug>/dashboards/<str:kind>/", dashboards.dashboard, name="dashboard"),
    path(
        "projects/<slug:slug>/dashboards/<str:kind>/live/",
        dashboards.dashboard_live,
        name="dashboard_live",
    ),
    path(
        "projects/<slug:slug>/stats/recompute/",
        dashboards.stats_recompute,
        name="stats_recompute",
    ),
    path("projects/<slug:slug>/stats/progress/", dashboards.stats_progress, name="stats_progress"),
    path("account/tokens/", tokens.api_tokens, name="api_tokens"),
]
