"""Google Veo through the official SDK, `google-genai` (pinned <3: 3.x refuses generate_videos
with an API key before sending anything).

Calls: `genai.Client(api_key, http_options=HttpOptions(base_url, timeout))` (key sent as
`x-goog-api-key`); `models.generate_videos(model, source=GenerateVideosSource(prompt),
config=GenerateVideosConfig(number_of_videos=1, aspect_ratio, duration_seconds,
negative_prompt))` → POST /v1beta/models/{model}:predictLongRunning, reply
`{"name": "models/{model}/operations/{id}"}`; `operations.get(GenerateVideosOperation(name))` →
GET /v1beta/{name}: `{"done": true, "response": {"generateVideoResponse": {"generatedSamples":
[{"video": {"uri"}}], "raiMediaFilteredCount", "raiMediaFilteredReasons"}}}` or `{"done": true,
"error": {...}}`. Shapes: google/genai/models.py (_GenerateVideosParameters_to_mldev,
_GenerateVideosOperation_from_mldev), google/genai/types.py (GenerateVideosResponse), and
https://ai.google.dev/gemini-api/docs/video. The SDK does not retry unless told to.

Limits of the Gemini API mode: no seed (the SDK raises before sending one), no idempotency key,
and no cancel call for video operations: cancelling drops the result on our side only.
The output URI is served by the API itself and needs the key: `download_headers` sends it only
to the configured API host.
"""

from urllib.parse import urlsplit

import httpx

from . import register
from .base import (
    Adapter,
    GenerationRequest,
    JobState,
    JobStatus,
    ModelSpec,
    ProviderError,
    TransientError,
    classify_http,
)

# Content-policy words in Veo's error and filter reasons.
MODERATION_WORDS = ("safety", "rai", "policy", "blocked", "filtered")


@register
class VeoAdapter(Adapter):
    name = "veo"
    label = "Google Veo"
    default_base_url = "https://generativelanguage.googleapis.com"
    idempotent = False
    sdk = "google-genai"

    @classmethod
    def models(cls) -> list[ModelSpec]:
        return [
            ModelSpec(
                id="veo-3.1-generate-preview",
                label="Veo 3.1",
                durations=(4, 6, 8),
                aspects=("16:9", "9:16"),
                seed=False,
                max_prompt_chars=1024,
            ),
            ModelSpec(
                id="veo-3.1-fast-generate-preview",
                label="Veo 3.1 Fast",
                durations=(4, 6, 8),
                aspects=("16:9", "9:16"),
                seed=False,
                max_prompt_chars=1024,
            ),
            ModelSpec(
                id="veo-2.0-generate-001",
                label="Veo 2",
                durations=(5, 6, 7, 8),
                aspects=("16:9", "9:16"),
                seed=False,
                max_prompt_chars=1024,
                parameters={"enhance_prompt": bool},
            ),
        ]

    def _client(self):
        from google import genai  # imported on use: the SDK costs seconds at worker start
        from google.genai import types

        return genai.Client(
            api_key=self._key,
            http_options=types.HttpOptions(
                base_url=self.base_url + "/", timeout=int(self.timeout * 1000)
            ),
        )

    def _call(self, fn, *args, **kwargs):
        from google.genai import errors

        try:
            return fn(*args, **kwargs)
        except errors.APIError as exc:
            headers = getattr(getattr(exc, "response", None), "headers", None) or {}
            message = str(exc.message or exc.status or "")[:300]
            error = classify_http(exc.code or 500, message, headers)
            if exc.code == 400 and any(w in message.lower() for w in MODERATION_WORDS):
                error = ProviderError(message, moderated=True)
            raise error from None
        except httpx.TransportError as exc:  # connection refused, timeouts
            raise TransientError(
                f"Google unreachable: {exc.__class__.__name__}",
                outcome_unknown=not isinstance(exc, httpx.ConnectError),
            ) from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ProviderError(
                f"Google sent a malformed reply ({exc.__class__.__name__})"
            ) from None

    def submit(self, request: GenerationRequest) -> str:
        from google.genai import types

        config = types.GenerateVideosConfig(
            number_of_videos=1,
            aspect_ratio=request.aspect,
            duration_seconds=int(request.duration_s),
            negative_prompt=request.negative_prompt or None,
            **request.parameters,
        )
        with self._client() as client:
            operation = self._call(
                client.models.generate_videos,
                model=request.model,
                source=types.GenerateVideosSource(prompt=request.prompt),
                config=config,
            )
        name = getattr(operation, "name", None)
        if not isinstance(name, str) or "/operations/" not in name:
            raise ProviderError("Google accepted the request but sent no operation name")
        return name

    def poll(self, job_id: str, *, model: str = "") -> JobStatus:
        from google.genai import types

        with self._client() as client:
            operation = self._call(
                client.operations.get, types.GenerateVideosOperation(name=job_id)
            )
        if not operation.done:
            return JobStatus(JobState.RUNNING)
        if operation.error:
            message = str(operation.error.get("message") or operation.error)[:300]
            moderated = any(w in message.lower() for w in MODERATION_WORDS)
            return JobStatus(JobState.FAILED, error=message, moderated=moderated)
        response = operation.response or operation.result
        videos = (response.generated_videos or []) if response else []
        uris = tuple(v.video.uri for v in videos if v.video and v.video.uri)
        if uris:
            return JobStatus(JobState.SUCCEEDED, progress=1.0, output_urls=uris)
        if response and response.rai_media_filtered_count:
            reasons = "; ".join(response.rai_media_filtered_reasons or []) or "filtered"
            return JobStatus(
                JobState.FAILED,
                error=f"Refused by Google's safety filter: {reasons}"[:300],
                moderated=True,
            )
        raise ProviderError("Google reported the operation done without a video")

    def cancel(self, job_id: str, *, model: str = "") -> None:
        """The Gemini API has no cancel for video operations: nothing to call."""

    def download_headers(self, url: str) -> dict[str, str]:
        if urlsplit(url).netloc == urlsplit(self.base_url).netloc:
            return {"x-goog-api-key": self._key}
        return {}
