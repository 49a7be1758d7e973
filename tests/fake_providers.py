"""Fake video providers on 127.0.0.1 (port 0), one per adapter, speaking each provider's
documented request and reply shapes, so the real SDKs talk to them over real HTTP.

Each fake checks the key header, records every request, and keeps its jobs in memory:
- a job finishes after `polls_to_finish` status polls (slow jobs: raise it), reporting
  progress on the way;
- a prompt containing FORBIDDEN is refused by moderation in that provider's own shape;
- `fail_next(method, kind, times, path=…)` injects faults: "429" (with Retry-After), "500",
  "malformed" (HTTP 200 with a body that is not the documented JSON);
- `hold_create` seconds: the job is created, then the reply waits (a worker can be killed
  after the provider accepted the job but before it heard the id);
- outputs are a real small MP4 rendered with PyAV (tests/clips.py).

Shapes: runwayml/types/task_retrieve_response.py; google/genai/models.py and types.py
(predictLongRunning, operations, generateVideoResponse); fal_client/client.py (queue submit,
status, result, cancel) and fal's model-errors page (422 with detail[].type).
"""

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .clips import clip_bytes

KEY = "test-provider-key"


@dataclass
class Fault:
    method: str
    kind: str
    times: int
    path: str = ""
    retry_after: float = 1.0


@dataclass
class Job:
    id: str
    model: str
    prompt: str
    body: dict
    polls: int = 0
    cancelled: bool = False
    created_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S.000Z"))

    @property
    def forbidden(self) -> bool:
        return "FORBIDDEN" in self.prompt


class FakeProvider:
    """Start with `with FakeRunway() as fake:`; `fake.url` is its base URL."""

    def __init__(self, *, polls_to_finish: int = 2, clip: bytes | None = None):
        self.polls_to_finish = polls_to_finish
        self.clip = clip if clip is not None else clip_bytes(seconds=1.0)
        self.jobs: dict[str, Job] = {}
        self.requests: list[dict] = []
        self.faults: list[Fault] = []
        self.hold_create = 0.0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # shutdown() waits for serve_forever to notice it: poll every 10 ms, not every 0.5 s.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # --- test controls -------------------------------------------------------------------

    def fail_next(self, method: str, kind: str, times: int = 1, *, path: str = "", retry_after=1):
        with self.lock:
            self.faults.append(Fault(method, kind, times, path, retry_after))

    @property
    def created(self) -> int:
        return len(self.jobs)

    def calls(self, method: str, path_part: str = "") -> list[dict]:
        return [r for r in self.requests if r["method"] == method and path_part in r["path"]]

    # --- plumbing ------------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.path in path:
                    fault.times -= 1
                    return fault
        return None

    def _new_job(self, model: str, prompt: str, body: dict, job_id: str | None = None) -> Job:
        job = Job(id=job_id or uuid.uuid4().hex, model=model, prompt=prompt, body=body)
        with self.lock:
            self.jobs[job.id] = job
        return job

    def _poll(self, job: Job) -> str:
        """'queued', 'running', 'done', 'cancelled' — advancing one step per poll."""
        with self.lock:
            job.polls += 1
            if job.cancelled:
                return "cancelled"
            if job.polls >= self.polls_to_finish:
                return "done"
            return "queued" if job.polls == 1 else "running"

    def _progress(self, job: Job) -> float:
        return round(min(job.polls / max(self.polls_to_finish, 1), 0.99), 2)

    def authorised(self, path: str, headers) -> bool:
        raise NotImplementedError

    def route(self, method: str, path: str, query: str, body: dict | None, headers):
        """-> (status, json-able or bytes, extra headers)."""
        raise NotImplementedError

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self, method: str):
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                with fake.lock:
                    fake.requests.append(
                        {
                            "method": method,
                            "path": parts.path,
                            "query": parts.query,
                            "at": time.monotonic(),
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "json": body,
                        }
                    )
                if not fake.authorised(parts.path, self.headers):
                    return self._send(401, {"error": "Unauthorized"})
                fault = fake._take_fault(method, parts.path)
                if fault and fault.kind == "429":
                    headers = {"Retry-After": f"{fault.retry_after:g}"}
                    return self._send(429, {"error": "Too many requests"}, headers)
                if fault and fault.kind == "500":
                    return self._send(500, {"error": "Internal error"})
                status, payload, headers = fake.route(
                    method, parts.path, parts.query, body, self.headers
                )
                if fault and fault.kind == "malformed":
                    return self._send(200, b'{"unexpected": ', {"Content-Type": "application/json"})
                self._send(status, payload, headers)

            def _send(self, status: int, payload, headers=None):
                if isinstance(payload, bytes):
                    data = payload
                    content_type = "video/mp4"
                else:
                    data = b"" if payload is None else json.dumps(payload).encode()
                    content_type = "application/json"
                headers = {"Content-Type": content_type, **(headers or {})}
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed mid-request

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PUT(self):
                self._handle("PUT")

            def do_DELETE(self):
                self._handle("DELETE")

        return Handler

    def _hold(self):
        if self.hold_create:
            time.sleep(self.hold_create)


class FakeRunway(FakeProvider):
    """POST /v1/text_to_video, GET and DELETE /v1/tasks/{id} (X-Runway-Version 2024-11-06)."""

    credits_per_second = 12

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.by_idempotency_key: dict[str, str] = {}

    def authorised(self, path, headers) -> bool:
        if path.startswith("/files/"):  # outputs are pre-signed URLs
            return True
        return headers.get("authorization") == f"Bearer {KEY}" and bool(
            headers.get("x-runway-version")
        )

    def route(self, method, path, query, body, headers):
        if method == "GET" and path.startswith("/files/"):
            return 200, self.clip, {}
        if method == "POST" and path == "/v1/text_to_video":
            body = body or {}
            missing = [k for k in ("model", "promptText", "ratio") if not body.get(k)]
            if missing:
                return 400, {"error": f"missing {', '.join(missing)}"}, {}
            key = headers.get("idempotency-key")
            with self.lock:
                known = self.by_idempotency_key.get(key) if key else None
            if known:
                return 200, {"id": known}, {}
            job = self._new_job(body["model"], body["promptText"], body)
            if key:
                with self.lock:
                    self.by_idempotency_key[key] = job.id
            self._hold()
            return 200, {"id": job.id}, {}
        match = re.fullmatch(r"/v1/tasks/([\w-]+)", path)
        if not match or match[1] not in self.jobs:
            return 404, {"error": "Task not found"}, {}
        job = self.jobs[match[1]]
        if method == "DELETE":
            job.cancelled = True
            return 204, None, {}
        estimate = {"credits": self.credits_per_second * int(job.body.get("duration", 5))}
        base = {"id": job.id, "createdAt": job.created_at}
        state = self._poll(job)
        if state == "cancelled":
            return 200, {**base, "status": "CANCELLED", "cost": {"credits": 0}}, {}
        if state == "queued":
            return 200, {**base, "status": "PENDING", "estimatedCost": estimate}, {}
        if state == "running":
            return (
                200,
                {
                    **base,
                    "status": "RUNNING",
                    "progress": self._progress(job),
                    "estimatedCost": estimate,
                },
                {},
            )
        if job.forbidden:
            return (
                200,
                {
                    **base,
                    "status": "FAILED",
                    "cost": {"credits": 0},
                    "failure": "The prompt was flagged by our content moderation.",
                    "failureCode": "SAFETY.INPUT.TEXT",
                },
                {},
            )
        return (
            200,
            {
                **base,
                "status": "SUCCEEDED",
                "cost": estimate,
                "output": [f"{self.url}/files/{job.id}.mp4"],
            },
            {},
        )


class FakeVeo(FakeProvider):
    """POST /v1beta/models/{model}:predictLongRunning, GET /v1beta/{operation name},
    GET /v1beta/files/{id}:download?alt=media (all with x-goog-api-key)."""

    def authorised(self, path, headers) -> bool:
        return headers.get("x-goog-api-key") == KEY

    def route(self, method, path, query, body, headers):
        match = re.fullmatch(r"/v1beta/models/([\w.-]+):predictLongRunning", path)
        if method == "POST" and match:
            instances = (body or {}).get("instances") or [{}]
            prompt = instances[0].get("prompt")
            if not prompt:
                return (
                    400,
                    {
                        "error": {
                            "code": 400,
                            "message": "prompt is required",
                            "status": "INVALID_ARGUMENT",
                        }
                    },
                    {},
                )
            job = self._new_job(match[1], prompt, body, job_id=uuid.uuid4().hex[:12])
            self._hold()
            return 200, {"name": f"models/{match[1]}/operations/{job.id}"}, {}
        match = re.fullmatch(r"/v1beta/files/(\w+):download", path)
        if method == "GET" and match:
            return (200, self.clip, {}) if match[1] in self.jobs else (404, {}, {})
        match = re.fullmatch(r"/v1beta/(models/[\w.-]+/operations/(\w+))", path)
        if method != "GET" or not match or match[2] not in self.jobs:
            return 404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}, {}
        job = self.jobs[match[2]]
        if self._poll(job) in ("queued", "running"):
            return 200, {"name": match[1], "done": False}, {}
        if job.forbidden:
            response = {
                "generateVideoResponse": {
                    "raiMediaFilteredCount": 1,
                    "raiMediaFilteredReasons": ["The prompt could not be submitted (safety)."],
                }
            }
        else:
            uri = f"{self.url}/v1beta/files/{job.id}:download?alt=media"
            response = {"generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]}}
        response["@type"] = (
            "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
        )
        return 200, {"name": match[1], "done": True, "response": response}, {}


class FakeFal(FakeProvider):
    """The fal queue: POST /{app_id}, GET …/requests/{id}/status, GET …/requests/{id},
    PUT …/requests/{id}/cancel (Authorization: Key …)."""

    def authorised(self, path, headers) -> bool:
        if path.startswith("/files/"):  # outputs are public CDN URLs
            return True
        return headers.get("authorization") == f"Key {KEY}"

    def route(self, method, path, query, body, headers):
        if method == "GET" and path.startswith("/files/"):
            return 200, self.clip, {}
        if method == "POST":
            app_id = path.strip("/")
            if not (body or {}).get("prompt"):
                return (
                    422,
                    {
                        "detail": [
                            {"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}
                        ]
                    },
                    {},
                )
            job = self._new_job(app_id, body["prompt"], body)
            owner, alias = app_id.split("/")[:2]
            base = f"{self.url}/{owner}/{alias}/requests/{job.id}"
            self._hold()
            return (
                200,
                {
                    "request_id": job.id,
                    "response_url": base,
                    "status_url": f"{base}/status",
                    "cancel_url": f"{base}/cancel",
                    "queue_position": 0,
                },
                {},
            )
        match = re.fullmatch(r"/[\w.-]+/[\w.-]+/requests/(\w+)(/status|/cancel)?", path)
        if not match or match[1] not in self.jobs:
            return 404, {"detail": "Request not found"}, {}
        job = self.jobs[match[1]]
        if match[2] == "/cancel" and method == "PUT":
            if job.polls >= self.polls_to_finish:
                return 400, {"status": "ALREADY_COMPLETED"}, {}
            job.cancelled = True
            return 202, {"status": "CANCELLATION_REQUESTED"}, {}
        if match[2] == "/status":
            state = self._poll(job)
            if state == "queued":
                return 200, {"status": "IN_QUEUE", "queue_position": 0}, {}
            if state == "running":
                return 200, {"status": "IN_PROGRESS", "logs": []}, {}
            if state == "cancelled":
                return (
                    200,
                    {
                        "status": "COMPLETED",
                        "logs": [],
                        "metrics": {},
                        "error": "Request was cancelled",
                        "error_type": "cancelled",
                    },
                    {},
                )
            return 200, {"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 1.2}}, {}
        if job.forbidden:
            return (
                422,
                {
                    "detail": [
                        {
                            "loc": ["body", "prompt"],
                            "msg": "The content was flagged by a content checker.",
                            "type": "content_policy_violation",
                        }
                    ]
                },
                {},
            )
        return (
            200,
            {
                "video": {"url": f"{self.url}/files/{job.id}.mp4", "content_type": "video/mp4"},
                "seed": job.body.get("seed"),
            },
            {},
        )


FAKES = {"runway": FakeRunway, "veo": FakeVeo, "fal": FakeFal}
