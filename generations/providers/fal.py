"""fal (Kling, LTX, Wan and others) through the official SDK, `fal-client` (1.0.3), queue API.

Calls: `SyncClient(key)` (header `Authorization: Key …`); `submit(app_id, arguments)` →
POST {queue}/{app_id}, reply `{"request_id", "response_url", "status_url", "cancel_url"}`;
`status(app_id, request_id)` → GET {queue}/{owner}/{alias}/requests/{id}/status with
IN_QUEUE (`queue_position`) / IN_PROGRESS / COMPLETED (`logs` required, optional `error`,
`error_type`); `result(app_id, request_id)` → GET …/requests/{id}, e.g. `{"video": {"url"}}`;
`cancel(app_id, request_id)` → PUT …/requests/{id}/cancel. Model errors come as HTTP 422 with
`{"detail": [{"loc", "msg", "type"}]}`, `type` "content_policy_violation" for moderation.
Shapes: fal_client/client.py (SyncClient, SyncRequestHandle, _parse_status),
https://fal.ai/docs/documentation/model-apis/errors.md, and each model's page
(https://fal.ai/models/fal-ai/kling-video/v1.6/pro/text-to-video/llms.txt).

The SDK reads its queue URL from a module global (set at import from an https host): the
adapter sets it to the configured base URL before each call, and bounds the SDK's own retries
to one attempt, since the worker retries with backoff and Retry-After itself. fal has no
idempotency key: a submission whose outcome is unknown is never sent again.
"""

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


def _fal():
    from fal_client import client  # imported on use: keeps worker start fast

    return client


def _detail(exc) -> tuple[str, bool]:
    """(message, moderated) from fal's structured error body."""
    try:
        body = exc.response.json()
    except ValueError:
        return str(exc.message)[:300], False
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        types = {str(d.get("type", "")) for d in detail}
        message = "; ".join(str(d.get("msg", "")) for d in detail)
        return message[:300], "content_policy_violation" in types
    return str(detail or exc.message)[:300], False


@register
class FalAdapter(Adapter):
    name = "fal"
    label = "fal"
    default_base_url = "https://queue.fal.run"
    idempotent = False
    sdk = "fal-client"

    @classmethod
    def models(cls) -> list[ModelSpec]:
        return [
            ModelSpec(
                id="fal-ai/kling-video/v1.6/pro/text-to-video",
                label="Kling 1.6 Pro",
                durations=(5, 10),
                aspects=("16:9", "9:16", "1:1"),
                seed=False,
                max_prompt_chars=2500,
                parameters={"cfg_scale": float},
            ),
            ModelSpec(
                id="fal-ai/ltx-video",
                label="LTX Video",
                durations=(5,),
                aspects=("16:9",),
                parameters={"guidance_scale": float, "num_inference_steps": int},
            ),
        ]

    def _client(self):
        fal = _fal()
        fal.QUEUE_URL_FORMAT = self.base_url + "/"
        fal.MAX_ATTEMPTS = 1
        return fal.SyncClient(key=self._key, default_timeout=self.timeout)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _fal().FalClientHTTPError as exc:
            message, moderated = _detail(exc)
            if moderated:
                raise ProviderError(message, moderated=True) from None
            raise classify_http(exc.status_code, message, exc.response_headers) from None
        except httpx.TransportError as exc:  # connection refused, timeouts
            raise TransientError(
                f"fal unreachable: {exc.__class__.__name__}",
                outcome_unknown=not isinstance(exc, httpx.ConnectError),
            ) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise ProviderError(f"fal sent a malformed reply ({exc.__class__.__name__})") from None

    def _arguments(self, request: GenerationRequest) -> dict:
        spec = self.model(request.model)
        arguments = {"prompt": request.prompt}
        # A model with one duration or one aspect (LTX) takes no such argument.
        if spec is None or len(spec.aspects) > 1:
            arguments["aspect_ratio"] = request.aspect
        if spec is None or len(spec.durations) > 1:
            arguments["duration"] = str(int(request.duration_s))  # an enum of strings
        if request.negative_prompt:
            arguments["negative_prompt"] = request.negative_prompt
        if request.seed is not None:
            arguments["seed"] = request.seed
        return {**arguments, **request.parameters}

    def submit(self, request: GenerationRequest) -> str:
        handle = self._call(self._client().submit, request.model, self._arguments(request))
        if not isinstance(handle.request_id, str) or not handle.request_id:
            raise ProviderError("fal accepted the request but sent no request id")
        return handle.request_id

    def poll(self, job_id: str, *, model: str = "") -> JobStatus:
        fal = _fal()
        client = self._client()
        status = self._call(client.status, model, job_id)
        if isinstance(status, fal.Queued):
            return JobStatus(JobState.QUEUED)
        if isinstance(status, fal.InProgress):
            return JobStatus(JobState.RUNNING)
        if status.error:
            moderated = "content_policy" in str(status.error_type or "")
            return JobStatus(JobState.FAILED, error=str(status.error)[:300], moderated=moderated)
        try:
            result = self._call(client.result, model, job_id)
        except ProviderError as exc:
            if isinstance(exc, TransientError):
                raise
            return JobStatus(JobState.FAILED, error=exc.message, moderated=exc.moderated)
        video = result.get("video") if isinstance(result, dict) else None
        url = video.get("url") if isinstance(video, dict) else None
        if not isinstance(url, str) or not url:
            raise ProviderError("fal reported the request completed without a video URL")
        return JobStatus(JobState.SUCCEEDED, progress=1.0, output_urls=(url,))

    def cancel(self, job_id: str, *, model: str = "") -> None:
        try:
            self._call(self._client().cancel, model, job_id)
        except ProviderError as exc:
            # 400: already completed; 404: unknown. Either way nothing runs any more.
            if not any(code in exc.message for code in ("HTTP 400", "HTTP 404")):
                raise
