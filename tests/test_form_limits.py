"""The forms apply generations.limits (issue 11 items 10 and 11): names are one line without
control characters, texts and parameters have a size cap, and a refused form writes nothing and
says why."""

import json

import pytest
from django.urls import reverse

from generations import limits
from generations.forms import ModelPriceForm, ProjectForm, TakeUploadForm
from generations.models import Project, PromptVersion, Shot


@pytest.fixture
def lead(client, members):
    client.force_login(members["lead"])
    return client


@pytest.mark.parametrize(
    "name, reason",
    [
        ("opening\nstreet", "contains a line break (U+000A)"),
        ("opening\rstreet", "contains a line break (U+000D)"),
        ("opening\u2028street", "contains a line break (U+2028)"),
        ("bell\x07street", "contains a control character (U+0007)"),
        ("x" * (limits.SHOT_NAME_MAX + 1), f"at most {limits.SHOT_NAME_MAX}"),
    ],
)
def test_the_shot_form_refuses_control_characters_and_long_names(lead, project, name, reason):
    response = lead.post(reverse("shot_create", args=[project.slug]), {"name": name})
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not Shot.objects.filter(project=project).exists()


def test_the_shot_form_keeps_quotes_and_non_ascii(lead, project):
    name = 'Maria\'s "kitchen" <b>&amp; – 東京'
    response = lead.post(reverse("shot_create", args=[project.slug]), {"name": name})
    assert response.status_code == 302
    assert Shot.objects.get(project=project).name == name


def _version(client, shot, **fields):
    data = {"text": "a street at dusk", **fields}
    return client.post(reverse("version_create", args=[shot.project.slug, shot.pk]), data)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"text": "w" * (limits.PROMPT_MAX + 1)}, f"at most {limits.PROMPT_MAX:,}"),
        (
            {"negative_prompt": "n" * (limits.NEGATIVE_PROMPT_MAX + 1)},
            f"at most {limits.NEGATIVE_PROMPT_MAX:,}",
        ),
        ({"text": "dusk\x1b[31m"}, "contains a control character (U+001B)"),
        ({"change_note": "calmer\nmuch"}, "contains a line break"),
        (
            {"parameters": json.dumps({"blob": "x" * limits.PARAMETERS_MAX_BYTES})},
            f"at most {limits.PARAMETERS_MAX_BYTES:,}",
        ),
        (
            {"parameters": json.dumps({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}})},
            f"nested deeper than {limits.PARAMETERS_MAX_DEPTH}",
        ),
    ],
)
def test_the_version_form_caps_prompts_and_parameters(lead, shot, fields, message):
    response = _version(lead, shot, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PromptVersion.objects.filter(shot=shot).exists()


def test_a_prompt_at_the_limit_with_line_breaks_is_kept(lead, shot):
    text = ("line one\n" + "w" * 50 + "\r\n") * 10
    text = text + "x" * (limits.PROMPT_MAX - len(text))
    params = {"camera": {"move": "dolly", "speed": [1, 2]}, "seed": 7}
    response = _version(lead, shot, text=text, parameters=json.dumps(params))
    assert response.status_code == 302
    version = PromptVersion.objects.get(shot=shot)
    assert len(version.text) == limits.PROMPT_MAX and version.parameters == params


def test_the_project_form_refuses_a_name_with_a_line_break(lead):
    before = Project.objects.count()
    response = lead.post(reverse("project_create"), {"name": "Night\nMarket"})
    assert response.status_code in (200, 400)
    assert "contains a line break" in response.content.decode()
    assert Project.objects.count() == before
    assert ProjectForm({"name": "N" * (limits.PROJECT_NAME_MAX + 1)}).errors["name"]


def test_model_names_are_one_short_line():
    assert "contains a line break" in str(ModelPriceForm({"model": "veo\n3"}).errors["model"])
    form = TakeUploadForm({"model": "m" * (limits.MODEL_NAME_MAX + 1)})
    assert f"at most {limits.MODEL_NAME_MAX}" in str(form.errors["model"])
    assert ModelPriceForm({"model": " Veo-3 ", "usd_per_second": "0.5"}).is_valid()
