"""Editors: grid cards name their shot and version; the upload page's script sends one file per
request and reads a JSON answer per file (the browser test covers the progress bars)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generations.models import Take

from .browser.support import seed_taxonomy
from .clips import mp4_upload
from .factories import PromptVersionFactory, ShotFactory, TakeFactory

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def _taxonomy(db):
    seed_taxonomy()


def test_grid_cards_name_their_shot_and_version(
    client, owner, project, django_assert_max_num_queries
):
    alley = PromptVersionFactory(shot=ShotFactory(project=project, name="alley chase"), number=3)
    roof = PromptVersionFactory(shot=ShotFactory(project=project, name="rooftop"), number=1)
    takes = [TakeFactory(prompt_version=alley), TakeFactory(prompt_version=roof)]
    takes += [TakeFactory(prompt_version=roof) for _ in range(8)]
    client.force_login(owner)
    with django_assert_max_num_queries(14):  # the same with 2 takes or 200
        page = client.get(reverse("take_grid", args=[project.slug])).text
    card = page[page.index(f'id="take-{takes[0].pk}"') :]
    card = card[: card.index("</article>")]
    assert "alley chase</a> · <a" in card and ">v3</a>" in card
    card = page[page.index(f'id="take-{takes[1].pk}"') :]
    card = card[: card.index("</article>")]
    assert "rooftop</a> · <a" in card and ">v1</a>" in card
    assert page.count('class="card-title"') == 10


def test_an_upload_asked_for_json_answers_per_file(client, owner, project, version):
    client.force_login(owner)
    url = reverse("take_upload", args=[project.slug, version.pk])
    ok = client.post(url, {"files": mp4_upload("a.mp4"), "model": "sora-2"}, headers=JSON)
    assert ok.status_code == 200
    (created,) = ok.json()["created"]
    take = Take.objects.get()
    assert created == {
        "id": take.pk,
        "external_id": take.external_id,
        "url": take.get_absolute_url(),
    }
    assert ok.json()["rejected"] == []
    fake = SimpleUploadedFile("b.mp4", b"this is not a video at all", content_type="video/mp4")
    bad = client.post(url, {"files": fake, "model": "sora-2"}, headers=JSON)
    assert bad.status_code == 400
    assert bad.json()["created"] == []
    assert "b.mp4" in bad.json()["rejected"][0]
    no_model = client.post(url, {"files": mp4_upload("c.mp4")}, headers=JSON)
    assert no_model.status_code == 400
    assert no_model.json()["errors"] == ["Model: This field is required."]
    assert Take.objects.count() == 1
    # The plain form is unchanged: a redirect to the version.
    plain = client.post(url, {"files": mp4_upload("d.mp4"), "model": "sora-2"})
    assert plain.status_code == 302 and Take.objects.count() == 2
