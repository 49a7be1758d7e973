"""Synthetic projects for benchmarks, generated inside PostgreSQL with generate_series: a million
takes with their reviews and tags in well under a minute, deterministic (no random())."""

import json
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import JSONField

from generations.models import (
    FailureTag,
    Membership,
    Project,
    PromptVersion,
    Review,
    Role,
    Shot,
    Take,
)

MODELS = ["sora-2", "sora-2-pro", "veo-3", "kling-2", "runway-gen4-turbo", "pika-2", "svd-xt"]
SHOTS = 40
VERSIONS_PER_SHOT = 6


TAKE_COLUMNS = {
    "project", "shot", "prompt_version", "pass_number", "model", "parameters", "seed",
    "external_id", "original_filename", "media", "media_url", "duration_s", "fps", "width",
    "height", "codec", "poster", "thumbnail", "filmstrip", "filmstrip_frames", "flicker_series",
    "status", "status_reason", "cost_usd", "cost_source", "current_verdict", "created_at",
    "added_at",
}  # fmt: skip


@dataclass
class _Defaults:
    columns: str
    values: str
    params: dict


def _defaults(model, given: set[str]) -> _Defaults:
    """The model's other NOT NULL columns with their defaults, so the raw INSERTs keep working
    when a migration adds a field (provenance, review kind, …)."""
    columns, values, params = [], [], {}
    for field in model._meta.concrete_fields:
        if field.name in given or field.primary_key or field.null:
            continue
        default = field.get_default()  # "" for text fields without an explicit default
        if default is None:
            continue
        value = field.get_prep_value(default)
        name = f"default_{field.column}"
        columns.append(field.column)
        if isinstance(field, JSONField):
            values.append(f"%({name})s::jsonb")
            value = json.dumps(value)
        else:
            values.append(f"%({name})s")
        params[name] = value
    if not columns:
        return _Defaults("", "", {})
    return _Defaults(", " + ", ".join(columns), ", " + ", ".join(values), params)


def make_project(*, slug: str, takes: int, owner, analyze: bool = True) -> Project:
    """A project with `takes` takes over 40 shots of 6 versions: ~90% reviewed, acceptance rising
    with the pass, a second review on 5% of takes, one to three failure tags per reject, dates
    over 60 days. `analyze=False` leaves the tables as a bulk load does (no planner
    statistics: autovacuum is off here)."""
    Project.objects.filter(slug=slug).delete()
    with transaction.atomic():
        project = Project.objects.create(
            slug=slug,
            name=f"Bench {takes:,}",
            budget_usd=takes * 2,
            target_accepted_takes=takes // 5,
        )
        Membership.objects.create(project=project, user=owner, role=Role.LEAD, is_owner=True)
        shots = Shot.objects.bulk_create(
            [Shot(project=project, name=f"shot-{i:03d}") for i in range(SHOTS)]
        )
        PromptVersion.objects.bulk_create(
            [
                PromptVersion(shot=s, number=n, text=f"prompt {s.name} v{n}")
                for s in shots
                for n in range(1, VERSIONS_PER_SHOT + 1)
            ]
        )
    _takes(project, takes)
    _reviews_and_tags(project, reviewers=3, analyze=analyze)
    return project


def make_realistic_project(*, slug: str, takes: int, owner, analyze: bool = True) -> Project:
    """The shape of a team that iterates prompts: one shot per distinct prompt, 2–5 prompt
    versions per shot (a v1 → v2 → … chain), ~6.7 takes per shot, so 1M takes make 150k shots
    and 525k versions; eight reviewers. Everything is generated inside PostgreSQL
    (INSERT … SELECT generate_series), never as Python objects."""
    Project.objects.filter(slug=slug).delete()
    with transaction.atomic():
        project = Project.objects.create(
            slug=slug,
            name=f"Bench realistic {takes:,}",
            budget_usd=takes * 2,
            target_accepted_takes=takes // 5,
        )
        Membership.objects.create(project=project, user=owner, role=Role.LEAD, is_owner=True)
    shot_t, version_t = Shot._meta.db_table, PromptVersion._meta.db_table
    shot_defaults = _defaults(Shot, {"project", "name", "created_at"})
    version_defaults = _defaults(PromptVersion, {"shot", "number", "text", "created_at"})
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO {shot_t} (project_id, name, created_at{shot_defaults.columns})
            SELECT %(project)s, 'prompt-' || lpad(g::text, 7, '0'), now(){shot_defaults.values}
            FROM generate_series(1, %(n)s) AS g
            """,
            {"project": project.pk, "n": max(1, takes * 3 // 20), **shot_defaults.params},
        )
        cur.execute(
            f"""
            INSERT INTO {version_t} (shot_id, number, text, created_at{version_defaults.columns})
            SELECT s.id, n, 'prompt ' || s.name || ' v' || n, now(){version_defaults.values}
            FROM {shot_t} s, generate_series(1, 5) AS n
            WHERE s.project_id = %(project)s AND n <= 2 + (s.id * 7 %% 4)
            """,
            {"project": project.pk, **version_defaults.params},
        )
        cur.execute(
            f"""
            UPDATE {version_t} v SET parent_id = p.id
            FROM {version_t} p JOIN {shot_t} s ON s.id = p.shot_id
            WHERE s.project_id = %(project)s AND v.shot_id = p.shot_id
              AND v.number = p.number + 1
            """,
            {"project": project.pk},
        )
    _takes(project, takes)
    _reviews_and_tags(project, reviewers=8, analyze=analyze)
    return project


def _takes(project: Project, takes: int) -> None:
    """`takes` takes spread round-robin over the project's prompt versions (in id order)."""
    take_t, version_t = Take._meta.db_table, PromptVersion._meta.db_table
    shot_t = Shot._meta.db_table
    take_defaults = _defaults(Take, TAKE_COLUMNS)
    with transaction.atomic(), connection.cursor() as cur:
        # Inside a test's transaction ON COMMIT DROP never fires: a second project would find
        # the table still there.
        cur.execute("DROP TABLE IF EXISTS bench_versions")
        cur.execute(
            f"""
            CREATE TEMP TABLE bench_versions ON COMMIT DROP AS
            SELECT (row_number() OVER (ORDER BY v.id) - 1)::int AS rn, v.id, v.shot_id, v.number
            FROM {version_t} v JOIN {shot_t} s ON s.id = v.shot_id
            WHERE s.project_id = %s
            """,
            [project.pk],
        )
        cur.execute("SELECT count(*) FROM bench_versions")
        nv = cur.fetchone()[0]
        cur.execute("ANALYZE bench_versions")
        cur.execute(
            f"""
            INSERT INTO {take_t} (project_id, shot_id, prompt_version_id, pass_number, model,
                parameters, seed, external_id, original_filename, media, media_url, duration_s,
                fps, width, height, codec, poster, thumbnail, filmstrip, filmstrip_frames,
                flicker_series, status, status_reason, cost_usd, cost_source, current_verdict,
                created_at, added_at{take_defaults.columns})
            SELECT %(project)s, bv.shot_id, bv.id, bv.number,
                -- The model moves on by one at every round over the versions, so every
                -- model gets takes and a version's takes span several models.
                (%(models)s::text[])[1 + ((g + g / %(nv)s) %% %(nm)s)],
                '{{}}', g, 'bench-' || g, '', '', '', 4 + (g %% 3) * 2, 24, 1280, 720, 'h264',
                '', '', '', 0, '[]', 'ready', '', (0.2 + (g %% 13) * 0.1)::numeric(12,4),
                'reported', '',
                timestamptz '2026-09-01' + ((g %% 60) || ' days')::interval
                    + ((g %% 1440) || ' minutes')::interval,
                now(){take_defaults.values}
            FROM generate_series(1, %(n)s) AS g JOIN bench_versions bv ON bv.rn = g %% %(nv)s
            """,
            {
                "project": project.pk,
                "nv": nv,
                "models": MODELS,
                "nm": len(MODELS),
                "n": takes,
                **take_defaults.params,
            },
        )


def _reviews_and_tags(project: Project, *, reviewers: int, analyze: bool) -> None:
    """Reviews (9 in 10 takes, a second one on 5%), failure tags on rejects, current verdicts;
    then ANALYZE unless the caller wants freshly loaded tables."""
    User = get_user_model()
    reviewers = [
        User.objects.get_or_create(username=f"bench-reviewer-{i}@studio.test")[0].pk
        for i in range(reviewers)
    ]
    tag_ids = list(FailureTag.objects.order_by("position").values_list("pk", flat=True))[:13]
    take_t, review_t = Take._meta.db_table, Review._meta.db_table
    through_t = Review.failure_tags.through._meta.db_table
    review_defaults = _defaults(Review, {"take", "reviewer", "verdict", "comment", "created_at"})
    nr = len(reviewers)
    with transaction.atomic(), connection.cursor() as cur:
        # Reviews: 9 in 10 takes; accept when a hash falls under a pass-dependent threshold.
        cur.execute(
            f"""
            INSERT INTO {review_t} (take_id, reviewer_id, verdict, comment, created_at
                {review_defaults.columns})
            SELECT t.id, (%(reviewers)s::bigint[])[1 + (t.id %% %(nr)s)],
                CASE WHEN (t.id * 2654435761 %% 100) < 8 + t.pass_number * 5
                     THEN 'accept' ELSE 'reject' END,
                '', t.created_at + interval '1 day'{review_defaults.values}
            FROM {take_t} t WHERE t.project_id = %(project)s AND t.id %% 10 <> 0
            UNION ALL
            SELECT t.id, (%(reviewers)s::bigint[])[1 + ((t.id + 1) %% %(nr)s)],
                CASE WHEN (t.id * 40503 %% 100) < 30 THEN 'accept' ELSE 'reject' END,
                '', t.created_at + interval '2 days'{review_defaults.values}
            FROM {take_t} t WHERE t.project_id = %(project)s AND t.id %% 20 = 1
            """,
            {"project": project.pk, "reviewers": reviewers, "nr": nr, **review_defaults.params},
        )
        cur.execute(
            f"""
            INSERT INTO {through_t} (review_id, failuretag_id)
            SELECT r.id, (%(tags)s::bigint[])[1 + ((r.id * k) %% %(nt)s)]
            FROM {review_t} r JOIN {take_t} t ON t.id = r.take_id,
                 generate_series(1, 3) AS k
            WHERE t.project_id = %(project)s AND r.verdict = 'reject' AND k <= 1 + (r.id %% 3)
            ON CONFLICT DO NOTHING
            """,
            {"project": project.pk, "tags": tag_ids, "nt": len(tag_ids)},
        )
        cur.execute(
            f"""
            UPDATE {take_t} t SET current_review_id = latest.id, current_verdict = latest.verdict
            FROM (
                SELECT DISTINCT ON (r.take_id) r.take_id, r.id, r.verdict
                FROM {review_t} r JOIN {take_t} tt ON tt.id = r.take_id
                WHERE tt.project_id = %(project)s
                ORDER BY r.take_id, r.created_at DESC, r.id DESC
            ) latest
            WHERE t.id = latest.take_id
            """,
            {"project": project.pk},
        )
        if analyze:
            cur.execute(f"ANALYZE {take_t}; ANALYZE {review_t}; ANALYZE {through_t};")
