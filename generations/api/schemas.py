"""Request and response shapes of the API. Text limits come from generations.limits, so the API
refuses exactly what the forms and the manifest importer refuse."""

import json
from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import field_validator

from .. import limits
from ..drawing import MAX_POINTS, MAX_STROKES, DrawingError, drawing_clean


def _text(value: str, *, max_length: int, single_line: bool = True) -> str:
    problem = limits.text_problem(value, max_length=max_length, single_line=single_line)
    if problem:
        raise ValueError(problem)
    return value


def _parameters(value: dict) -> dict:
    problem = limits.parameters_problem(value)
    if problem:
        raise ValueError(f"parameters {problem}")
    return value


class ProjectOut(Schema):
    slug: str
    name: str
    brief: str
    budget_usd: float | None
    deadline: str | None
    role: str
    is_owner: bool
    capabilities: list[str]
    created_at: datetime


class ShotIn(Schema):
    name: str = Field(min_length=1)
    description: str = ""
    target_duration_s: float | None = Field(None, ge=0, le=99999)

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        v = _text(v, max_length=limits.SHOT_NAME_MAX).strip()
        if not v:
            raise ValueError("a shot needs a name")
        return v

    @field_validator("description")
    @classmethod
    def _description(cls, v):
        return _text(v, max_length=limits.SHOT_DESCRIPTION_MAX, single_line=False)


class ShotOut(Schema):
    id: int
    name: str
    description: str
    target_duration_s: float | None
    created_at: datetime


class VersionIn(Schema):
    """A new prompt version. Fields left out of an iteration are copied from the parent."""

    text: str | None = None
    negative_prompt: str | None = None
    parameters: dict[str, Any] | None = None
    change_note: str = ""

    @field_validator("text")
    @classmethod
    def _text(cls, v):
        if v is None:
            return v
        v = _text(v, max_length=limits.PROMPT_MAX, single_line=False)
        if not v.strip():
            raise ValueError("the prompt is empty")
        return v

    @field_validator("negative_prompt")
    @classmethod
    def _negative(cls, v):
        return (
            v if v is None else _text(v, max_length=limits.NEGATIVE_PROMPT_MAX, single_line=False)
        )

    @field_validator("change_note")
    @classmethod
    def _note(cls, v):
        return _text(v, max_length=limits.CHANGE_NOTE_MAX)

    @field_validator("parameters")
    @classmethod
    def _params(cls, v):
        return v if v is None else _parameters(v)


class ShotVersionIn(VersionIn):
    parent_id: int | None = None


class VersionOut(Schema):
    id: int
    shot_id: int
    number: int
    label: str
    parent_id: int | None
    text: str
    negative_prompt: str
    parameters: dict[str, Any]
    change_note: str
    author: str | None
    created_at: datetime


class TakeOut(Schema):
    id: int
    external_id: str
    shot_id: int
    shot: str
    prompt_version_id: int
    version: int
    pass_number: int
    model: str
    seed: int | None
    status: str
    status_reason: str
    duration_s: float | None
    fps: float | None
    width: int | None
    height: int | None
    codec: str
    media_url: str
    original_filename: str
    cost_usd: float
    cost_source: str
    verdict: str | None
    tags: list[str]
    created_at: datetime
    url: str


class TakePage(Schema):
    items: list[TakeOut]
    next_cursor: str | None


class TakeRegisterBase(Schema):
    version_id: int
    model: str = Field(min_length=1)
    external_id: str | None = None
    pass_number: int | None = Field(None, ge=1, le=1000)
    cost_usd: float | None = Field(None, ge=0, le=1e7)
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)

    @field_validator("model")
    @classmethod
    def _model(cls, v):
        v = _text(v, max_length=limits.MODEL_NAME_MAX).strip().lower()
        if not v:
            raise ValueError("name the model")
        return v

    @field_validator("external_id")
    @classmethod
    def _external(cls, v):
        if v is None:
            return v
        v = _text(v, max_length=limits.EXTERNAL_ID_MAX).strip()
        return v or None


class TakeUrlIn(TakeRegisterBase):
    media_url: str = Field(min_length=1, max_length=1000)


DRAWING_HELP = (
    "Strokes drawn on the frame, as in the web review form: "
    '[{"kind": "line" or "arrow", "points": [[x, y], …]}], x and y from 0 to 1 of the '
    f"picture (origin top-left); at most {MAX_STROKES} strokes of 2 to {MAX_POINTS} points "
    "(an arrow: tail and head). Empty or null: none."
)


class NoteIn(Schema):
    seconds: float = Field(ge=0, le=1e6)
    text: str = Field(min_length=1)
    tag: str = ""
    drawing: list[Any] | None = Field(default=None, description=DRAWING_HELP)

    @field_validator("drawing")
    @classmethod
    def _drawing(cls, v):
        # The web form's check on the same JSON text: its size cap, then the strokes.
        try:
            return drawing_clean(None if v is None else json.dumps(v, separators=(",", ":")))
        except DrawingError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("text")
    @classmethod
    def _text(cls, v):
        v = _text(v, max_length=limits.NOTE_TEXT_MAX, single_line=False)
        if not v.strip():
            raise ValueError("a note needs text")
        return v

    @field_validator("tag")
    @classmethod
    def _tag(cls, v):
        return _text(v, max_length=limits.TAG_SLUG_MAX)


class NoteOut(Schema):
    id: int
    seconds: float
    frame: int
    text: str
    tag: str | None
    drawing: list[dict[str, Any]]
    author: str | None
    review_id: int | None
    created_at: datetime


class ReviewIn(Schema):
    verdict: Literal["accept", "reject"]
    tags: list[str] = Field(default_factory=list, max_length=50)
    comment: str = ""
    notes: list[NoteIn] = Field(default_factory=list, max_length=100)
    # The current review id you saw (null: unreviewed). If given and someone judged the take
    # since, the verdict is refused with 409 instead of silently overwriting theirs.
    seen_review: int | None = None

    @field_validator("comment")
    @classmethod
    def _comment(cls, v):
        return _text(v, max_length=limits.COMMENT_MAX, single_line=False)


class ReviewOut(Schema):
    id: int
    verdict: str
    kind: str
    reviewer: str
    tags: list[str]
    comment: str
    created_at: datetime
