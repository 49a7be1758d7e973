"""Response policies that hold for every page."""

from django.utils.cache import patch_cache_control


def private_cache(get_response):
    """A logged-in user's pages (projects, dashboards, media) are theirs alone: a shared cache
    (a proxy, a CDN) must never keep them. Browsers may still cache what a view allows."""

    def middleware(request):
        response = get_response(request)
        if request.user.is_authenticated:
            patch_cache_control(response, private=True)
        return response

    return middleware
