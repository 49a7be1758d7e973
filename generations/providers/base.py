"""The one interface every video provider adapter implements.

An adapter is thin: it turns a `GenerationRequest` into its provider's SDK call, and the
provider's replies into `JobStatus`. Everything else (budget, retries with backoff, claims,
downloads, takes) lives in the generation services and tasks, once for all providers.

Errors an adapter raises, so the worker can decide without knowing the provider:
- `RateLimited` (HTTP 429): retry after `retry_after` seconds (the provider's Retry-After).
- `TransientError` (5xx, timeouts, connection errors): retry with backoff and jitter.
- `ProviderError` (4xx, malformed replies): the job fails with the message; `moderated` marks
  a content-policy refusal, counted apart from other failures.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, ClassVar


class ProviderError(Exception):
    """A permanent failure: resubmitting the same request would fail the same way."""

    def __init__(self, message: str, *, moderated: bool = False):
        super().__init__(message)
        self.message = message
        self.moderated = moderated


class TransientError(ProviderError):
    """Worth retrying: the provider was down, slow or unreachable. `outcome_unknown`: the
    request may have reached the provider (a timeout or a connection cut mid-reply), so a
    submission is only sent again where the provider honours an idempotency key."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, outcome_unknown: bool = False
    ):
        super().__init__(message)
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown


class RateLimited(TransientError):
    """HTTP 429: come back after `retry_after` seconds when the provider said so."""


class NotConfigured(ProviderError):
    """No key in the environment for this provider, or no such provider."""


@dataclass(frozen=True)
class ModelSpec:
    """A model a provider offers, with the limits the form and the service check before any
    money is spent. `id` is what the provider calls it and the key of its ModelPrice."""

    id: str
    label: str
    durations: tuple[int, ...]
    aspects: tuple[str, ...]
    seed: bool = True
    negative_prompt: bool = True
    max_prompt_chars: int = 2000
    # Parameter overrides the model accepts, passed through as given (name -> type).
    parameters: dict[str, type] = field(default_factory=dict)
    max_seed: int = 2**32 - 1


@dataclass(frozen=True)
class GenerationRequest:
    """One take's request, as stored on its GenerationJob (JSON-able via `as_dict`)."""

    model: str
    prompt: str
    duration_s: int
    aspect: str
    negative_prompt: str = ""
    seed: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    # Same key on every attempt of one job: a provider that honours it never runs it twice.
    idempotency_key: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt": self.prompt,
            "duration_s": self.duration_s,
            "aspect": self.aspect,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "parameters": dict(self.parameters),
            "idempotency_key": self.idempotency_key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GenerationRequest":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class JobStatus:
    state: JobState
    progress: float | None = None  # 0..1 when the provider reports it
    output_urls: tuple[str, ...] = ()
    cost_usd: Decimal | None = None  # only when the provider reports the charge
    error: str = ""
    moderated: bool = False


class Adapter(ABC):
    """Subclass, set the class attributes, implement the four methods, decorate with
    `@providers.register`. The key comes from DAILIES_PROVIDER_<NAME>_KEY and the base URL from
    DAILIES_PROVIDER_<NAME>_BASE_URL (default `default_base_url`)."""

    name: ClassVar[str]
    label: ClassVar[str]
    default_base_url: ClassVar[str]
    # Whether submit() carries an idempotency key the provider honours: then a submission whose
    # outcome is unknown (worker killed mid-call) may be sent again; otherwise never.
    idempotent: ClassVar[bool] = False
    # The SDK and what it calls, for the README and the report.
    sdk: ClassVar[str] = ""

    def __init__(self, *, key: str, base_url: str, timeout: float = 30.0):
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:  # never the key
        return f"<{type(self).__name__} {self.base_url}>"

    @classmethod
    @abstractmethod
    def models(cls) -> list[ModelSpec]: ...

    @classmethod
    def model(cls, model_id: str) -> ModelSpec | None:
        return next((m for m in cls.models() if m.id == model_id), None)

    @abstractmethod
    def submit(self, request: GenerationRequest) -> str:
        """Start one generation; return the provider's job id."""

    @abstractmethod
    def poll(self, job_id: str, *, model: str = "") -> JobStatus:
        """Where the job is. `model` is passed for providers whose URLs name it (fal)."""

    @abstractmethod
    def cancel(self, job_id: str, *, model: str = "") -> None:
        """Ask the provider to stop the job (best effort: a finished job stays finished)."""

    def download_headers(self, url: str) -> dict[str, str]:
        """Headers the output download needs (none unless the provider guards its files)."""
        return {}


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def classify_http(status: int, message: str, headers=None) -> ProviderError:
    """The error for an HTTP status, the same rule for every adapter."""
    if status == 429:
        lowered = {str(k).lower(): v for k, v in dict(headers or {}).items()}
        retry = retry_after_seconds(lowered.get("retry-after"))
        return RateLimited(f"rate limited: {message}", retry_after=retry)
    if status >= 500 or status in (408, 409):
        return TransientError(f"HTTP {status}: {message}")
    return ProviderError(f"HTTP {status}: {message}")
