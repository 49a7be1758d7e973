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


def make_project(*, slug: str, takes: int, owner) -> Project:
    """A project with `takes` takes: ~90% reviewed, acceptance rising with the pass, a second
    review on 5% of takes, one to three failure tags per reject, dates over 60 days."""
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
        versions = PromptVersion.objects.bulk_create(
            [
                PromptVersion(shot=s, number=n, text=f"prompt {s.name} v{n}")
                for s in shots
                for n in range(1, VERSIONS_PER_SHOT + 1)
            ]
        )
    User = get_user_model()
    reviewers = [
        User.objects.get_or_create(username=f"bench-reviewer-{i}@studio.test")[0].pk
        for i in range(3)
    ]
    tag_ids = list(FailureTag.objects.order_by("position").values_list("pk", flat=True))[:13]
    take_t, review_t = Take._meta.db_table, Review._meta.db_table
    through_t = Review.failure_tags.through._meta.db_table
    take_defaults = _defaults(Take, TAKE_COLUMNS)
    review_defaults = _defaults(Review, {"take", "reviewer", "verdict", "comment", "created_at"})
    version_ids = [v.pk for v in versions]
    shot_of = {v.pk: v.shot_id for v in versions}
    number_of = {v.pk: v.number for v in versions}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO {take_t} (project_id, shot_id, prompt_version_id, pass_number, model,
                parameters, seed, external_id, original_filename, media, media_url, duration_s,
                fps, width, height, codec, poster, thumbnail, filmstrip, filmstrip_frames,
                flicker_series, status, status_reason, cost_usd, cost_source, current_verdict,
                created_at, added_at{take_defaults.columns})
            SELECT %(project)s, (%(shots)s::bigint[])[1 + (g %% %(nv)s)],
                (%(versions)s::bigint[])[1 + (g %% %(nv)s)],
                (%(numbers)s::int[])[1 + (g %% %(nv)s)],
                (%(models)s::text[])[1 + (g * 7 %% %(nm)s)],
                '{{}}', g, 'bench-' || g, '', '', '', 4 + (g %% 3) * 2, 24, 1280, 720, 'h264',
                '', '', '', 0, '[]', 'ready', '', (0.2 + (g %% 13) * 0.1)::numeric(12,4),
                'reported', '',
                timestamptz '2026-09-01' + ((g %% 60) || ' days')::interval
                    + ((g %% 1440) || ' minutes')::interval,
                now(){take_defaults.values}
            FROM generate_series(1, %(n)s) AS g
            """,
            {
                "project": project.pk,
                "shots": [shot_of[v] for v in version_ids],
                "versions": version_ids,
                "numbers": [number_of[v] for v in version_ids],
                "nv": len(version_ids),
                "models": MODELS,
                "nm": len(MODELS),
                "n": takes,
                **take_defaults.params,
            },
        )
        # Reviews: 9 in 10 takes; accept when a hash falls under a pass-dependent threshold.
        cur.execute(
            f"""
            INSERT INTO {review_t} (take_id, reviewer_id, verdict, comment, created_at
                {review_defaults.columns})
            SELECT t.id, (%(reviewers)s::bigint[])[1 + (t.id %% 3)],
                CASE WHEN (t.id * 2654435761 %% 100) < 8 + t.pass_number * 5
                     THEN 'accept' ELSE 'reject' END,
                '', t.created_at + interval '1 day'{review_defaults.values}
            FROM {take_t} t WHERE t.project_id = %(project)s AND t.id %% 10 <> 0
            UNION ALL
            SELECT t.id, (%(reviewers)s::bigint[])[1 + ((t.id + 1) %% 3)],
                CASE WHEN (t.id * 40503 %% 100) < 30 THEN 'accept' ELSE 'reject' END,
                '', t.created_at + interval '2 days'{review_defaults.values}
            FROM {take_t} t WHERE t.project_id = %(project)s AND t.id %% 20 = 1
            """,
            {"project": project.pk, "reviewers": reviewers, **review_defaults.params},
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
        cur.execute(f"ANALYZE {take_t}; ANALYZE {review_t}; ANALYZE {through_t};")
    return project
