"""Deployment hardening (issue 11 item 13): `check --deploy` passes with the production settings
the README documents, the compose file migrates before anything starts and has secure cookies by
default, pages carry the Content-Security-Policy, and logged-in pages and media are private to
caches."""

import os
import pathlib
import subprocess
import sys

import pytest
import yaml
from django.core.files.base import ContentFile
from django.urls import reverse

from .factories import TakeFactory

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The environment README "Running in production" documents (besides DATABASE_URL and the broker).
PRODUCTION = {
    "SECRET_KEY": "k3y-" + "Zq8vXw2Lr5Tn9Bm4Hc7Jd1Fg6Sp0Ya3Ue8Io5" * 2,
    "ALLOWED_HOSTS": "dailies.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://dailies.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_PROXY_SSL_HEADER": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def _check_deploy(extra: dict) -> subprocess.CompletedProcess:
    # The test session's own switches (DEBUG, the async-unsafe flag for the live server) are not
    # production's.
    skip = ("SECURE_", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_documented_production_settings():
    result = _check_deploy(PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # The README documents exactly these variables.
    readme = (ROOT / "README.md").read_text()
    for name in PRODUCTION:
        assert name in readme, name


def test_check_deploy_fails_without_https_settings():
    plain = {k: v for k, v in PRODUCTION.items() if not k.startswith("SECURE_")}
    result = _check_deploy(plain)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def _compose() -> dict:
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        env={**os.environ, "SECRET_KEY": "compose-test"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def test_compose_migrates_before_web_and_workers_with_secure_cookies():
    services = _compose()
    assert services["migrate"]["command"] == "python manage.py migrate --noinput"
    assert services["migrate"]["restart"] == "no"
    app = ["web", "worker", "worker-rollups", "beat"]
    for name in app:
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends["postgres"] == {"condition": "service_healthy"}, name
        assert "migrate" not in str(services[name]["command"]), name
    for name in ["migrate", *app]:
        assert services[name]["environment"]["SECURE_COOKIES"] == "1", name


@pytest.fixture
def producer(client, members):
    client.force_login(members["producer"])
    return client


def test_project_pages_and_media_are_private_to_caches(producer, project, version):
    take = TakeFactory(prompt_version=version)
    take.media.save("t.mp4", ContentFile(b"\x00" * 64), save=True)
    for url in [
        reverse("project_list"),
        reverse("project_detail", args=[project.slug]),
        reverse("dashboard", args=[project.slug, "producer"]),
        reverse("take_detail", args=[project.slug, take.pk]),
        reverse("take_media", args=[project.slug, take.pk, "video"]),
    ]:
        response = producer.get(url)
        assert response.status_code == 200, url
        directives = [d.strip() for d in response["Cache-Control"].split(",")]
        assert "private" in directives and "public" not in directives, url


def test_pages_carry_the_content_security_policy(producer, project):
    response = producer.get(reverse("project_detail", args=[project.slug]))
    policy = dict(
        (part.strip().split(" ", 1) + [""])[:2]
        for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    # No inline script or style attribute left in the page itself.
    html = response.content.decode()
    assert "<script>" not in html and ' style="' not in html and " onclick=" not in html
