"""Shared by the generation tests: start a fake provider and point its adapter at it."""

import contextlib

from .fake_providers import FAKES, KEY


@contextlib.contextmanager
def provider_fake(name: str, settings, **kwargs):
    """Start the fake for `name` on 127.0.0.1 and configure the adapter's key and base URL
    (and allow downloads from 127.0.0.1) through Django's settings for the test."""
    with FAKES[name](**kwargs) as fake:
        settings.DAILIES_PROVIDER_KEYS = {**settings.DAILIES_PROVIDER_KEYS, name: KEY}
        settings.DAILIES_PROVIDER_BASE_URLS = {
            **settings.DAILIES_PROVIDER_BASE_URLS,
            name: fake.url,
        }
        settings.DAILIES_ALLOW_PRIVATE_URLS = True
        settings.DAILIES_PROVIDER_TIMEOUT = 10
        yield fake
