"""Drawings on the frame: a small, bounded JSON of strokes in picture coordinates, checked by
the form and by the service, stored with the note and handed to the player."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from generations.drawing import MAX_POINTS, MAX_STROKES, DrawingError, drawing_clean
from generations.models import Note
from generations.services.projects import ServiceError
from generations.services.reviews import note_add

from .browser.support import seed_taxonomy
from .factories import TakeFactory

STROKE = {"kind": "line", "points": [[0.1, 0.2], [0.15, 0.25], [0.2, 0.3]]}
ARROW = {"kind": "arrow", "points": [[0.9, 0.1], [0.6, 0.4]]}


def test_a_drawing_is_cleaned_to_rounded_picture_coordinates():
    assert drawing_clean("") == [] and drawing_clean(None) == []
    raw = [{"kind": "arrow", "points": [[0, 1], [0.123456789, 0.5]], "colour": "red"}]
    assert drawing_clean(json.dumps(raw)) == [
        {"kind": "arrow", "points": [[0.0, 1.0], [0.1235, 0.5]]}
    ]


@pytest.mark.parametrize(
    ("drawing", "reason"),
    [
        ("{not json", "could not be read"),
        ({"kind": "line"}, "list of strokes"),
        ([{"kind": "circle", "points": [[0, 0], [1, 1]]}], "line or an arrow"),
        ([{"kind": "line", "points": [[0, 0]]}], "2 to"),
        ([{"kind": "arrow", "points": [[0, 0], [0.5, 0.5], [1, 1]]}], "2 points"),
        ([{"kind": "line", "points": [[0, 0], [1.2, 0.5]]}], "on the picture"),
        ([{"kind": "line", "points": [[0, 0], [-0.1, 0.5]]}], "on the picture"),
        ([{"kind": "line", "points": [[0, 0], [True, 0.5]]}], "numbers"),
        ([{"kind": "line", "points": [[0, 0], ["0.5", 0.5]]}], "numbers"),
        ([{"kind": "line", "points": [[0, 0], [0.5]]}], "pair"),
        ([STROKE] * (MAX_STROKES + 1), f"At most {MAX_STROKES}"),
        ([{"kind": "line", "points": [[0.5, 0.5]] * (MAX_POINTS + 1)}], f"2 to {MAX_POINTS}"),
        ("[" + ",".join(["[0.5, 0.5]"] * 9000) + "]", "too large"),
    ],
)
def test_a_drawing_out_of_bounds_is_refused_with_a_reason(drawing, reason):
    with pytest.raises(DrawingError, match=reason):
        drawing_clean(drawing)


def test_nan_is_not_on_the_picture():
    with pytest.raises(DrawingError):
        drawing_clean('[{"kind": "line", "points": [[0, 0], [NaN, 0.5]]}]')


@pytest.mark.django_db
def test_the_service_checks_the_drawing_too(version, owner):
    take = TakeFactory(prompt_version=version, duration_s=Decimal("4"))
    with pytest.raises(ServiceError, match="on the picture"):
        note_add(
            take=take,
            author=owner,
            seconds=1,
            text="x",
            drawing=[{"kind": "line", "points": [[0, 0], [2, 2]]}],
        )
    assert Note.objects.count() == 0
    note = note_add(take=take, author=owner, seconds=1, text="x", drawing=[ARROW])
    assert note.drawing == [ARROW]


@pytest.mark.django_db
def test_a_note_posts_its_drawing_and_the_panel_hands_it_to_the_player(
    client, owner, project, version
):
    seed_taxonomy()
    take = TakeFactory(prompt_version=version, duration_s=Decimal("8"), fps=Decimal("24"))
    take.media.name = "takes/x.mp4"  # the timeline (with its markers) shows for media takes
    take.save(update_fields=["media"])
    client.force_login(owner)
    url = reverse("review_note", args=[project.slug, take.pk])
    hx = {"HX-Request": "true"}
    drawing = json.dumps([STROKE, ARROW])
    response = client.post(
        url, {"seconds": "2", "text": "arm bends", "drawing": drawing, "page": "queue"}, headers=hx
    )
    assert response.status_code == 200
    note = Note.objects.get()
    assert (note.frame, note.drawing) == (48, [STROKE, ARROW])
    attribute = 'data-drawing="' + note.drawing_json.replace('"', "&quot;") + '"'
    assert response.text.count(attribute) == 2  # the marker and the timecode link
    # Out of bounds: refused with the reason, nothing saved.
    bad = json.dumps([{"kind": "line", "points": [[0, 0], [3, 3]]}])
    response = client.post(
        url, {"seconds": "3", "text": "x", "drawing": bad, "page": "take"}, headers=hx
    )
    assert response.status_code == 400
    assert "on the picture" in response.text
    assert Note.objects.count() == 1
    # A note without a drawing has no attribute, so clicking it clears the overlay.
    client.post(url, {"seconds": "4", "text": "plain", "page": "take"}, headers=hx)
    page = client.get(take.get_absolute_url()).text
    assert page.count("data-drawing=") == 2
