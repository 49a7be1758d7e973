"""The three adapters through their real SDKs, against fake providers on 127.0.0.1 that speak
the documented shapes (tests/fake_providers.py). No database needed."""

import logging

import pytest

from generations import netsafe, providers
from generations.providers import (
    GenerationRequest,
    JobState,
    NotConfigured,
    ProviderError,
    RateLimited,
    TransientError,
)

from .clips import clip_bytes
from .fake_providers import KEY
from .generation_support import provider_fake

MODELS = {
    "runway": "gen4.5",
    "veo": "veo-3.1-generate-preview",
    "fal": "fal-ai/kling-video/v1.6/pro/text-to-video",
}
ALL = pytest.mark.parametrize("name", sorted(MODELS))


def request(name: str, prompt: str = "a lantern-lit night market, slow dolly-in", **kw):
    spec = providers.adapter_class(name).model(MODELS[name])
    values = {
        "model": spec.id,
        "prompt": prompt,
        "duration_s": spec.durations[-1],
        "aspect": "9:16",
        "negative_prompt": "blurry, watermark",
        "seed": 4242 if spec.seed else None,
        "idempotency_key": "job-key-1",
    }
    return GenerationRequest(**{**values, **kw})


def run_to_end(adapter, job_id: str, model: str, limit: int = 10):
    seen = []
    for _ in range(limit):
        status = adapter.poll(job_id, model=model)
        seen.append(status)
        if status.state not in (JobState.QUEUED, JobState.RUNNING):
            return status, seen
    raise AssertionError(f"never finished: {seen}")


@ALL
def test_submit_poll_and_download_through_the_sdk(name, settings, tmp_path):
    with provider_fake(name, settings, polls_to_finish=3) as fake:
        adapter = providers.get(name)
        job_id = adapter.submit(request(name))
        assert job_id and fake.created == 1
        status, seen = run_to_end(adapter, job_id, MODELS[name])
        assert status.state == JobState.SUCCEEDED and len(seen) == 3
        assert [s.state for s in seen[:-1]] != []  # it was not done at once
        assert all(s.state in (JobState.QUEUED, JobState.RUNNING) for s in seen[:-1])
        url = status.output_urls[0]
        got = netsafe.fetch_to_file(
            url, dest=tmp_path / "out.mp4", max_bytes=10_000_000,
            headers=adapter.download_headers(url),
        )  # fmt: skip
        assert got.path.read_bytes() == clip_bytes(seconds=1.0)


def test_runway_request_shape_idempotency_key_progress_and_reported_cost(settings):
    with provider_fake("runway", settings, polls_to_finish=3) as fake:
        adapter = providers.get("runway")
        job_id = adapter.submit(request("runway", duration_s=7))
        sent = fake.calls("POST", "/v1/text_to_video")[0]
        assert sent["json"] == {
            "model": "gen4.5",
            "promptText": "a lantern-lit night market, slow dolly-in",
            "ratio": "720:1280",
            "duration": 7,
            "seed": 4242,
        }  # the negative prompt is not a Runway parameter, so it is not sent
        assert sent["headers"]["idempotency-key"] == "job-key-1"
        assert sent["headers"]["authorization"] == f"Bearer {KEY}"
        assert sent["headers"]["x-runway-version"] == "2024-11-06"
        # Sent again with the same key (a worker killed before it stored the id): same task.
        assert adapter.submit(request("runway", duration_s=7)) == job_id
        assert fake.created == 1
        _, seen = run_to_end(adapter, job_id, "gen4.5")
        assert seen[1].state == JobState.RUNNING and seen[1].progress == pytest.approx(0.67)
        # 12 credits per second × 7 s at one cent per credit.
        assert str(seen[-1].cost_usd) == "0.8400"


def test_veo_request_shape(settings):
    with provider_fake("veo", settings) as fake:
        job_id = providers.get("veo").submit(request("veo", duration_s=6))
        assert job_id.startswith("models/veo-3.1-generate-preview/operations/")
        sent = fake.calls("POST", ":predictLongRunning")[0]
        assert sent["path"] == "/v1beta/models/veo-3.1-generate-preview:predictLongRunning"
        assert sent["json"]["instances"] == [
            {"prompt": "a lantern-lit night market, slow dolly-in"}
        ]
        assert sent["json"]["parameters"] == {
            "sampleCount": 1,
            "aspectRatio": "9:16",
            "durationSeconds": 6,
            "negativePrompt": "blurry, watermark",
        }
        assert sent["headers"]["x-goog-api-key"] == KEY


def test_fal_request_shape(settings):
    with provider_fake("fal", settings) as fake:
        model = MODELS["fal"]
        job_id = providers.get("fal").submit(request("fal", parameters={"cfg_scale": 0.7}))
        sent = fake.calls("POST")[0]
        assert sent["path"] == "/" + model
        assert sent["json"] == {
            "prompt": "a lantern-lit night market, slow dolly-in",
            "aspect_ratio": "9:16",
            "duration": "10",
            "negative_prompt": "blurry, watermark",
            "cfg_scale": 0.7,
        }
        assert sent["headers"]["authorization"] == f"Key {KEY}"
        providers.get("fal").poll(job_id, model=model)
        status_call = fake.calls("GET", "/status")[0]
        assert status_call["path"] == f"/fal-ai/kling-video/requests/{job_id}/status"


@ALL
def test_429_is_rate_limited_with_the_providers_retry_after(name, settings):
    with provider_fake(name, settings) as fake:
        fake.fail_next("POST", "429", retry_after=7)
        with pytest.raises(RateLimited) as caught:
            providers.get(name).submit(request(name))
        assert caught.value.retry_after == 7
        assert fake.created == 0 and len(fake.calls("POST")) == 1  # the SDK did not retry


@ALL
def test_500_is_transient_and_not_retried_inside_the_sdk(name, settings):
    with provider_fake(name, settings) as fake:
        adapter = providers.get(name)
        job_id = adapter.submit(request(name))
        fake.fail_next("GET", "500")
        with pytest.raises(TransientError) as caught:
            adapter.poll(job_id, model=MODELS[name])
        assert not isinstance(caught.value, RateLimited)
        assert len(fake.calls("GET")) == 1
        assert adapter.poll(job_id, model=MODELS[name]).state in (JobState.QUEUED, JobState.RUNNING)


@ALL
def test_moderation_refusal_is_a_moderated_failure(name, settings):
    with provider_fake(name, settings) as fake:
        adapter = providers.get(name)
        job_id = adapter.submit(request(name, prompt="FORBIDDEN content"))
        status, _ = run_to_end(adapter, job_id, MODELS[name])
        assert status.state == JobState.FAILED and status.moderated
        assert status.error
        assert fake.created == 1


@ALL
def test_a_malformed_reply_is_a_permanent_error(name, settings):
    with provider_fake(name, settings) as fake:
        fake.fail_next("POST", "malformed")
        with pytest.raises(ProviderError) as caught:
            providers.get(name).submit(request(name))
        assert not isinstance(caught.value, TransientError)
        assert "malformed" in caught.value.message


@ALL
def test_a_wrong_key_is_refused_and_never_logged(name, settings, caplog):
    with provider_fake(name, settings):
        settings.DAILIES_PROVIDER_KEYS = {name: "wrong-secret-key"}
        adapter = providers.get(name)
        assert "wrong-secret-key" not in repr(adapter)
        with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as caught:
            adapter.submit(request(name))
        assert "401" in caught.value.message and not isinstance(caught.value, TransientError)
        assert "wrong-secret-key" not in caplog.text + caught.value.message


@pytest.mark.parametrize("name", ["runway", "fal"])
def test_cancel_stops_the_job_at_the_provider(name, settings):
    with provider_fake(name, settings, polls_to_finish=5) as fake:
        adapter = providers.get(name)
        job_id = adapter.submit(request(name))
        adapter.poll(job_id, model=MODELS[name])
        adapter.cancel(job_id, model=MODELS[name])
        assert fake.jobs[job_id].cancelled
        status = adapter.poll(job_id, model=MODELS[name])
        assert status.state in (JobState.CANCELLED, JobState.FAILED)


def test_veo_cancel_makes_no_call(settings):
    with provider_fake("veo", settings) as fake:
        adapter = providers.get("veo")
        job_id = adapter.submit(request("veo"))
        before = len(fake.requests)
        adapter.cancel(job_id)
        assert len(fake.requests) == before


def test_the_registry_offers_only_providers_with_a_key(settings):
    settings.DAILIES_PROVIDER_KEYS = {"fal": "k"}
    assert [c.name for c in providers.configured()] == ["fal"]
    assert {c.name for c in providers.all_classes()} >= {"veo", "runway", "fal"}
    with pytest.raises(NotConfigured, match="DAILIES_PROVIDER_RUNWAY_KEY"):
        providers.get("runway")
    with pytest.raises(NotConfigured):
        providers.get("sora")


def test_every_model_declares_its_limits():
    for cls in providers.all_classes():
        assert cls.models(), cls.name
        for spec in cls.models():
            assert spec.durations and spec.aspects and spec.max_prompt_chars > 0
            assert cls.model(spec.id) == spec


def test_veo_sends_its_key_to_the_api_host_only(settings):
    settings.DAILIES_PROVIDER_KEYS = {"veo": KEY}
    settings.DAILIES_PROVIDER_BASE_URLS = {"veo": "https://api.example.test"}
    adapter = providers.get("veo")
    own = "https://api.example.test/v1beta/files/abc:download?alt=media"
    assert adapter.download_headers(own) == {"x-goog-api-key": KEY}
    assert adapter.download_headers("https://cdn.elsewhere.test/abc.mp4") == {}
