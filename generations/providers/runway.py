"""Runway through its official SDK, `runwayml` (5.24).

Calls: `RunwayML(api_key, base_url, max_retries=0, timeout)`;
`text_to_video.create(model, prompt_text, ratio, duration, seed, extra_headers={"Idempotency-Key"})`
→ POST /v1/text_to_video, reply `{"id"}`; `tasks.retrieve(id)` → GET /v1/tasks/{id} (status
PENDING / THROTTLED / RUNNING with `progress` / SUCCEEDED with `output` and `cost.credits` /
FAILED with `failure` and `failureCode` / CANCELLED); `tasks.delete(id)` → DELETE /v1/tasks/{id}.
Shapes: runwayml/resources/text_to_video.py, runwayml/types/task_retrieve_response.py, and
https://docs.dev.runwayml.com/errors/task-failures/ for failure codes (SAFETY.* = moderation).
The SDK's own retries are off (max_retries=0): the worker retries with backoff and honours
Retry-After itself, so one policy covers every provider.
"""

from decimal import Decimal

import httpx
from django.conf import settings

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

# Runway takes pixel ratios; Dailies speaks aspect ratios.
RATIOS = {"16:9": "1280:720", "9:16": "720:1280", "1:1": "960:960"}
STATES = {
    "PENDING": JobState.QUEUED,
    "THROTTLED": JobState.QUEUED,
    "RUNNING": JobState.RUNNING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
}


def _message(exc) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    return str(body.get("error") or body.get("message") or exc.message)[:300]


@register
class RunwayAdapter(Adapter):
    name = "runway"
    label = "Runway"
    default_base_url = "https://api.dev.runwayml.com"
    idempotent = True
    sdk = "runwayml"

    @classmethod
    def models(cls) -> list[ModelSpec]:
        return [
            ModelSpec(
                id="gen4.5",
                label="Gen-4.5",
                durations=tuple(range(2, 11)),
                aspects=("16:9", "9:16"),
                negative_prompt=False,
                max_prompt_chars=1000,
            ),
            ModelSpec(
                id="veo3.1",
                label="Veo 3.1 (via Runway)",
                durations=(4, 6, 8),
                aspects=("16:9", "9:16"),
                negative_prompt=False,
                max_prompt_chars=1000,
                parameters={"audio": bool},
            ),
            ModelSpec(
                id="veo3.1_fast",
                label="Veo 3.1 Fast (via Runway)",
                durations=(4, 6, 8),
                aspects=("16:9", "9:16"),
                negative_prompt=False,
                max_prompt_chars=1000,
                parameters={"audio": bool},
            ),
        ]

    def _client(self):
        import runwayml  # imported on use: the SDK costs seconds at worker start

        return runwayml.RunwayML(
            api_key=self._key, base_url=self.base_url, max_retries=0, timeout=self.timeout
        )

    def _call(self, fn, *args, **kwargs):
        import runwayml

        try:
            return fn(*args, **kwargs)
        except runwayml.APIStatusError as exc:
            raise classify_http(exc.status_code, _message(exc), exc.response.headers) from None
        except runwayml.APIConnectionError as exc:  # includes timeouts
            unknown = not isinstance(exc.__cause__, httpx.ConnectError)
            raise TransientError(
                f"Runway unreachable: {exc.__class__.__name__}", outcome_unknown=unknown
            ) from None
        except (ValueError, TypeError) as exc:  # a reply that is not the documented JSON
            raise ProviderError(
                f"Runway sent a malformed reply ({exc.__class__.__name__})"
            ) from None

    def submit(self, request: GenerationRequest) -> str:
        kwargs = {
            "model": request.model,
            "prompt_text": request.prompt,
            "ratio": RATIOS[request.aspect],
            "duration": int(request.duration_s),
            **request.parameters,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed
        with self._client() as client:
            task = self._call(
                client.text_to_video.create,
                **kwargs,
                extra_headers={"Idempotency-Key": request.idempotency_key},
            )
        task_id = getattr(task, "id", None)
        if not isinstance(task_id, str) or not task_id:
            raise ProviderError("Runway accepted the request but sent no task id")
        return task_id

    def poll(self, job_id: str, *, model: str = "") -> JobStatus:
        with self._client() as client:
            task = self._call(client.tasks.retrieve, job_id)
        state = STATES.get(getattr(task, "status", None))
        if state is None:
            raise ProviderError(
                f"Runway sent an unknown task status: {getattr(task, 'status', None)!r}"
            )
        if state == JobState.RUNNING:
            progress = getattr(task, "progress", None)
            return JobStatus(state, progress=float(progress) if progress is not None else None)
        if state == JobState.SUCCEEDED:
            output = getattr(task, "output", None)
            if not output or not all(isinstance(url, str) for url in output):
                raise ProviderError("Runway reported success without output URLs")
            return JobStatus(
                state, progress=1.0, output_urls=tuple(output), cost_usd=self._cost(task)
            )
        if state == JobState.FAILED:
            code = getattr(task, "failure_code", None) or ""
            reason = getattr(task, "failure", None) or "Runway reported a failure"
            return JobStatus(
                state,
                error=f"{reason} ({code})" if code else reason,
                moderated=code.startswith("SAFETY"),
            )
        return JobStatus(state)

    def _cost(self, task) -> Decimal | None:
        credits = getattr(getattr(task, "cost", None), "credits", None)
        if credits is None:
            return None
        per_credit = Decimal(str(getattr(settings, "DAILIES_RUNWAY_USD_PER_CREDIT", "0.01")))
        return (Decimal(str(credits)) * per_credit).quantize(Decimal("0.0001"))

    def cancel(self, job_id: str, *, model: str = "") -> None:
        with self._client() as client:
            try:
                self._call(client.tasks.delete, job_id)
            except ProviderError as exc:
                if "HTTP 404" not in exc.message:  # already gone is what we wanted
                    raise
