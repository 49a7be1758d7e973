"""Video provider adapters and their registry.

Adding a provider: write `generations/providers/<name>.py` with an `Adapter` subclass decorated
with `@register`, import it at the bottom of this file, add a ModelPrice per model, and set
DAILIES_PROVIDER_<NAME>_KEY (and _BASE_URL to point it elsewhere). Nothing else changes: the
form, the budget guard, the workers and the dashboards read the registry.

Keys are read from settings (which read the environment) at the moment an adapter is built;
they are never stored in the database, rendered, or logged (Adapter.__repr__ omits them).
"""

from django.conf import settings

from .base import (
    Adapter,
    GenerationRequest,
    JobState,
    JobStatus,
    ModelSpec,
    NotConfigured,
    ProviderError,
    RateLimited,
    TransientError,
)

_REGISTRY: dict[str, type[Adapter]] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"provider {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def adapter_class(name: str) -> type[Adapter]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NotConfigured(f"No provider named {name!r}.") from None


def all_classes() -> list[type[Adapter]]:
    return sorted(_REGISTRY.values(), key=lambda c: c.label)


def _key(name: str) -> str:
    return (getattr(settings, "DAILIES_PROVIDER_KEYS", {}) or {}).get(name, "")


def is_configured(name: str) -> bool:
    return name in _REGISTRY and bool(_key(name))


def configured() -> list[type[Adapter]]:
    """Providers with a key: the ones a lead may choose."""
    return [c for c in all_classes() if _key(c.name)]


def get(name: str) -> Adapter:
    """An adapter instance for `name`, with its key and base URL from the settings."""
    cls = adapter_class(name)
    key = _key(name)
    if not key:
        raise NotConfigured(
            f"{cls.label} has no API key: set DAILIES_PROVIDER_{name.upper()}_KEY on the "
            "web server and the workers."
        )
    base_url = (getattr(settings, "DAILIES_PROVIDER_BASE_URLS", {}) or {}).get(name)
    return cls(
        key=key,
        base_url=base_url or cls.default_base_url,
        timeout=float(getattr(settings, "DAILIES_PROVIDER_TIMEOUT", 30)),
    )


__all__ = [
    "Adapter",
    "GenerationRequest",
    "JobState",
    "JobStatus",
    "ModelSpec",
    "NotConfigured",
    "ProviderError",
    "RateLimited",
    "TransientError",
    "adapter_class",
    "all_classes",
    "configured",
    "get",
    "is_configured",
    "register",
]

# The adapters register themselves on import.
from . import fal, runway, veo  # noqa: E402, F401
