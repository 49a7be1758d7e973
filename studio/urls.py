from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from generations.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    # The REST API (generations/api/): its schema at api/v1/openapi.json, docs at api/v1/docs.
    path("api/v1/", api.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("generations.urls")),
    # Analytics (dashboards, stats API) and the review tools keep their routes in their own files.
    path("", include("generations.urls_stats")),
    path("", include("generations.urls_review")),
]

# Errors are pages of the app (generations/views/errors.py).
handler403 = "generations.views.errors.permission_denied"
handler404 = "generations.views.errors.page_not_found"
handler500 = "generations.views.errors.server_error"
