"""generations.manifest.parse: every line becomes a record or a reason, never an exception.
Pure Python: no database."""

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generations.manifest.parse import LineInvalid, ParsedTake, parse_line, parse_lines

GOOD = {
    "project": "spot",
    "shot": "shot-1",
    "prompt_version": 2,
    "parent_version": 1,
    "prompt": "a vendor, slow dolly-in",
    "pass": 2,
    "model": "Sora-2",
    "external_id": "gen-1",
    "duration_s": 8.0,
    "resolution": "1280x720",
    "fps": 24,
    "seed": 7,
    "cost_usd": 0.8,
    "created_at": "2026-10-11T03:30:00Z",
    "reviews": [
        {
            "reviewer": "Ed@Studio.test",
            "verdict": "reject",
            "failure_tags": ["Blur", "warping", "blur"],
            "notes": [{"t": 3.2, "tag": "blur", "text": "here"}],
            "reviewed_at": "2026-10-12T10:30:00+02:00",
        }
    ],
}


def good(**overrides) -> str:
    return json.dumps({**GOOD, **overrides}, ensure_ascii=False)


def reason(raw: str) -> str:
    with pytest.raises(LineInvalid) as exc:
        parse_line(1, raw)
    return str(exc.value)


def test_a_good_line_becomes_a_normalised_record():
    item = parse_line(7, good())
    assert (item.line, item.project, item.model, item.width, item.height) == (
        7,
        "spot",
        "sora-2",
        1280,
        720,
    )
    review = item.reviews[0]
    assert review.reviewer == "ed@studio.test"
    assert review.tags == ["blur", "warping"]
    assert review.at.isoformat() == "2026-10-12T08:30:00+00:00"  # stored in UTC
    assert (review.notes[0].frame, review.notes[0].tag) == (77, "blur")  # 3.2 s × 24 fps
    assert item.current is review


@pytest.mark.parametrize(
    "raw, expected",
    [
        # The four kinds that used to abort a whole import.
        (good(created_at="2026-13-45T00:00:00Z"), "created_at"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (good(shot="\ud800"), "surrogate"),
        (good(prompt="a\u0000b"), "NUL"),
        # More of what PostgreSQL would refuse.
        (good(shot="shot\nwith a break"), "line break"),
        (good(shot="shot\x07bell"), "control character"),
        (good(parameters={"a": "\u0000"}), "parameters"),
        (good(parameters={"k": "\ud800"}), "parameters"),
        ('{"duration_s": NaN}', "NaN"),
        ("{" + '"seed": ' + "9" * 5000 + "}", "not valid JSON"),
        (good(created_at="0001-01-01T00:00:00+05:00"), "before 1970"),
        (good(created_at="9999-12-31T23:59:59-05:00"), "future"),
        (good(created_at="2026-10-11T03:30:00"), "time zone"),
        (
            good(
                fps=99999, reviews=[{**GOOD["reviews"][0], "notes": [{"t": 999999, "text": "x"}]}]
            ),
            "'t'",
        ),
        (good(reviews=[{**GOOD["reviews"][0], "failure_tags": ["x" * 80]}]), "longer than 60"),
        (good(reviews=[{**GOOD["reviews"][0], "reviewer": "a" * 150 + "@x.test"}]), "reviewer"),
        (good(reviews=[{**GOOD["reviews"][0], "reviewer": ["list"]}]), "reviewer"),
        (good(seed=2**70), "out of range"),
        (good(duration_s=8.5).replace("8.5", "1e400"), "out of range"),
        (good(prompt="p" * 9000), "characters long"),
        (good(media_url="javascript:alert(1)"), "media_url"),
        (good(resolution=["big"]), "resolution"),
        (good(project="Not A Slug"), "slug"),
        (good(parent_version=5), "parent_version"),
        ("42", "JSON object"),
    ],
)
def test_what_the_database_would_refuse_is_a_reason_not_a_crash(raw, expected):
    assert expected in reason(raw)


def test_multi_line_texts_keep_their_line_breaks_but_names_do_not():
    item = parse_line(1, good(prompt="line one\nline two\tindented"))
    assert item.prompt == "line one\nline two\tindented"
    assert "line break" in reason(good(model="sora\r2"))


def test_a_bom_crlf_endings_and_blank_lines_are_fine():
    data = b"\xef\xbb\xbf" + good().encode() + b"\r\n\r\n" + good(external_id="gen-2").encode()
    out = list(parse_lines(io.BytesIO(data + b"\r\n")))
    assert [(n, type(x)) for n, x in out] == [(1, ParsedTake), (3, ParsedTake)]
    assert out[1][1].external_id == "gen-2"


def test_a_latin1_line_is_an_error_and_the_next_line_still_parses():
    latin1 = good(prompt="café au lait").encode("latin-1")
    data = good().encode() + b"\n" + latin1 + b"\n" + good(external_id="gen-3").encode()
    out = dict(parse_lines(io.BytesIO(data)))
    assert isinstance(out[1], ParsedTake) and isinstance(out[3], ParsedTake)
    assert isinstance(out[2], LineInvalid)
    assert "not UTF-8" in str(out[2]) and "0xE9" in str(out[2])


def test_a_whole_latin1_file_reports_only_its_non_ascii_lines():
    rows = [good(external_id=f"g{i}", prompt="plain" if i % 2 else "crème") for i in range(6)]
    out = dict(parse_lines(io.BytesIO("\n".join(rows).encode("latin-1"))))
    assert sorted(n for n, x in out.items() if isinstance(x, LineInvalid)) == [1, 3, 5]
    assert sorted(n for n, x in out.items() if isinstance(x, ParsedTake)) == [2, 4, 6]


def test_a_huge_line_is_skipped_without_being_held_and_counted_as_one_line():
    from generations.manifest import parse

    huge = b'{"x": "' + b"a" * (parse.MAX_LINE_BYTES + 10) + b'"}\n'
    out = dict(parse_lines(io.BytesIO(huge + good().encode())))
    assert "longer than" in str(out[1])
    assert isinstance(out[2], ParsedTake)


def test_the_same_review_twice_in_a_line_is_kept_once():
    review = GOOD["reviews"][0]
    item = parse_line(1, good(reviews=[review, dict(review)]))
    assert len(item.reviews) == 1


def test_reviews_without_a_time_follow_the_take_in_file_order():
    item = parse_line(
        1,
        good(
            reviews=[
                {"reviewer": "a@x.test", "verdict": "reject"},
                {"reviewer": "b@x.test", "verdict": "accept"},
            ]
        ),
    )
    assert [r.at.microsecond for r in item.reviews] == [0, 1]
    assert item.current.reviewer == "b@x.test"


# --- fuzz ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def mutate(data: st.DataObject) -> str:
    """A good line with one field replaced, removed or corrupted."""
    row = dict(GOOD)
    key = data.draw(st.sampled_from(sorted(GOOD)))
    action = data.draw(st.sampled_from(["replace", "remove", "text"]))
    if action == "remove":
        row.pop(key)
    elif action == "replace":
        row[key] = data.draw(json_values)
    else:
        row[key] = data.draw(st.text(max_size=30))
    return json.dumps(row)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_mutated_lines_parse_or_give_a_reason(data):
    raw = mutate(data)
    try:
        item = parse_line(1, raw)
    except LineInvalid as exc:
        assert str(exc)
        return
    # Whatever passed is storable: no NUL or surrogate anywhere, text within limits.
    for text in (item.project, item.shot, item.prompt, item.model, item.external_id):
        assert "\x00" not in text and text.encode("utf-8")
    json.dumps(item.parameters, ensure_ascii=False).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200))
def test_fuzz_random_bytes_never_crash_the_reader(raw):
    for _, item in parse_lines(io.BytesIO(raw)):
        assert isinstance(item, ParsedTake | LineInvalid)
