"""Demo data: a user per role, one project with shots, prompt lineages, and takes backed by real
small MP4s rendered with PyAV (no downloads), reviewed like practice reports (first pass 10–20%
accepted, better on later passes). Clips look like footage (generations.demo_clips): the camera
move and duration their prompt states, texture and motion, and some with the flicker or warping
they are rejected for. Every take is dated after its prompt version, every review after its take."""

import random
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from generations.demo_clips import render_demo_clip
from generations.models import FailureTag, Membership, Project, PromptVersion, Role, Shot
from generations.services import projects as project_services
from generations.services import prompts as prompt_services
from generations.services import reviews as review_services
from generations.services import takes as take_services

PASSWORD = "dailies-demo"
USERS = [
    ("lead@studio.test", Role.LEAD, True),
    ("editor@studio.test", Role.EDITOR, False),
    ("producer@studio.test", Role.PRODUCER, False),
    ("viewer@studio.test", Role.VIEWER, False),
]
# (name, description, seconds the shot runs, versions: (prompt, change note, parameters)).
SHOTS = [
    (
        "opening-street",
        "Opening: the night market street, 8 s",
        8,
        [
            ("a street food vendor at a night market", "", {}),
            (
                "a street food vendor at a night market, slow dolly-in, neon signs",
                "Added the camera move",
                {"camera": "dolly-in", "duration_s": 8},
            ),
            (
                "a street food vendor at a night market, slow dolly-in, warm neon light from the "
                "left, steam rising, 8 seconds",
                "Named the light; fixed the duration",
                {"camera": "dolly-in", "duration_s": 8, "aspect_ratio": "16:9"},
            ),
        ],
    ),
    (
        "noodle-close-up",
        "Close-up of noodles being tossed, 4 s",
        4,
        [
            ("noodles tossed in a wok, flames, a sign saying OPEN LATE", "", {}),
            (
                "noodles tossed in a wok, flames, static camera",
                "Dropped the on-screen text",
                {"camera": "static"},
            ),
            (
                "close-up of noodles tossed in a wok, flames, static camera, soft key light",
                "Lighting named",
                {"camera": "static", "duration_s": 4},
            ),
        ],
    ),
    (
        "crowd-wide",
        "Wide shot of the crowd, 6 s",
        6,
        [
            ("a crowd of people, a dog, two kids, a cyclist and a vendor walking", "", {}),
            (
                "a crowd walking through a night market, pan left",
                "Fewer named subjects",
                {"camera": "pan-left"},
            ),
            (
                "a crowd walking through a night market, slow pan left, lanterns overhead, 6 s",
                "Lanterns for light; duration",
                {"camera": "pan-left", "duration_s": 6},
            ),
        ],
    ),
]
MODELS = ["sora-2", "veo-3", "kling-2", "runway-gen4-turbo"]
# A model without a price: its takes show "cost unknown" and the budget page lists it.
UNPRICED_MODEL = "hunyuan-video"
TAKES_PER_VERSION = 4
# Accepted takes per pass out of the reviewed ones: first pass 2 of 12 (17%), then better.
ACCEPTS_PER_PASS = {1: 2, 2: 4, 3: 5}
UNREVIEWED_PER_SHOT_IN_LAST_PASS = 1


class Command(BaseCommand):
    help = "Create demo users (one per role) and a demo project with real rendered takes."

    def handle(self, **options):
        users = self._users()
        project = Project.objects.filter(slug="neon-market").first()
        if project is None:
            project = self._project(users)
            self.stdout.write(self.style.SUCCESS(f"Created the demo project {project.name}."))
        else:
            self.stdout.write("The demo project exists already; left as it is.")
        self.stdout.write("\nLog in at http://127.0.0.1:8000/ as any of these (password shown):")
        for email, role, owner in USERS:
            self.stdout.write(
                f"  {email:<24} {PASSWORD}   {role.label}{' (owner)' if owner else ''}"
            )

    def _users(self):
        User = get_user_model()
        users = {}
        for email, _role, _owner in USERS:
            user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
            user.set_password(PASSWORD)
            user.save()
            users[email] = user
        return users

    @transaction.atomic
    def _project(self, users):
        rng = random.Random(7)
        lead = users["lead@studio.test"]
        project = project_services.project_create(
            name="Neon Market",
            slug="neon-market",
            owner=lead,
            brief="A 30-second spot for a night market, generated shot by shot.",
            budget_usd=Decimal("40.00"),
            target_accepted_takes=12,
            deadline=(timezone.now() + timedelta(days=21)).date(),
        )
        for email, role, _owner in USERS[1:]:
            Membership.objects.create(project=project, user=users[email], role=role)
        tags = {t.slug: t for t in FailureTag.objects.all()}
        reviewers = [lead, users["editor@studio.test"]]
        start = timezone.now() - timedelta(days=18)
        with tempfile.TemporaryDirectory() as tmp:
            for shot_index, (name, description, seconds, versions) in enumerate(SHOTS):
                shot = project_services.shot_create(
                    project=project, name=name, description=description,
                    target_duration_s=Decimal(seconds),
                )  # fmt: skip
                Shot.objects.filter(pk=shot.pk).update(created_at=start - timedelta(days=1))
                parent = None
                for number, (text, note, params) in enumerate(versions, start=1):
                    version = prompt_services.prompt_version_create(
                        shot=shot, text=text, author=lead, parent=parent, change_note=note,
                        parameters=params,
                    )  # fmt: skip
                    # Written the morning of its first takes (which start at 08:00).
                    day = start.replace(hour=7, minute=0) + timedelta(
                        days=(number - 1) * 6 + shot_index * 2
                    )
                    PromptVersion.objects.filter(pk=version.pk).update(created_at=day)
                    parent = version
                    defects = _defects(number, shot_index)
                    paths = [
                        Path(tmp) / f"{name}-v{number}-{i}.mp4" for i in range(TAKES_PER_VERSION)
                    ]

                    clips = [
                        {
                            "path": paths[i],
                            # The duration the prompt asks for, else the shot's.
                            "seconds": params.get("duration_s", seconds),
                            "camera": params.get("camera", "static"),
                            "hue": 40 * shot_index + 15 * number + 5 * i,
                            "seed": shot_index * 100 + number * 10 + i,
                            "flicker": defects.get(i) == "flicker",
                            "warp": defects.get(i) == "warping",
                        }
                        for i in range(TAKES_PER_VERSION)
                    ]
                    # Encoding runs outside the GIL: a version's clips render side by side.
                    with ThreadPoolExecutor(max_workers=TAKES_PER_VERSION) as pool:
                        list(pool.map(lambda clip: render_demo_clip(**clip), clips))
                    takes = []
                    for i, path in enumerate(paths):
                        upload = SimpleUploadedFile(path.name, path.read_bytes(), "video/mp4")
                        created = day.replace(hour=rng.randint(8, 20)) + timedelta(days=i % 2)
                        takes.append(
                            take_services.take_register_upload(
                                version=version,
                                upload=upload,
                                model=_model(i, number, shot_index),
                                uploader=lead,
                                seed=rng.randint(1, 2**31),
                                created_at=created,
                            )
                        )
                    self._review(
                        takes,
                        number,
                        shot_index,
                        tags,
                        reviewers,
                        rng,
                        last=number == len(versions),
                        defects=defects,
                    )
        Project.objects.filter(pk=project.pk).update(created_at=start - timedelta(days=2))
        return project

    def _review(self, takes, number, shot_index, tags, reviewers, rng, last, defects):
        accepted_here = _accepted(number, shot_index, len(takes))
        failure_pool = ["warping", "blur", "flicker", "morphing", "anatomy", "prompt-adherence"]
        for i, take in enumerate(takes):
            if last and i >= len(takes) - UNREVIEWED_PER_SHOT_IN_LAST_PASS:
                continue  # left for the review queue
            reviewer = reviewers[(i + number) % 2]
            # Reviewed a few hours after generation, never in the future.
            at = min(
                take.created_at + timedelta(hours=rng.randint(2, 30)),
                timezone.now() - timedelta(minutes=30 - i),
            )
            if i in accepted_here:
                review_services.review_record(take=take, reviewer=reviewer, verdict="accept", at=at)
                continue
            chosen = {failure_pool[(i + number + shot_index) % len(failure_pool)]}
            if i % 2:
                chosen.add(failure_pool[(i * 3 + number) % len(failure_pool)])
            if i in defects:
                chosen.add(defects[i])  # the defect rendered into the clip
            notes = [
                review_services.NoteInput(
                    seconds=round(0.5 + rng.random() * 2, 2),
                    text=f"{slug.replace('-', ' ')} visible here",
                    tag_slug=slug,
                )
                for slug in sorted(chosen)[:1]
            ]
            review_services.review_record(
                take=take,
                reviewer=reviewer,
                verdict="reject",
                tags=[tags[s] for s in chosen],
                notes=notes,
                at=at,
            )


def _accepted(number: int, shot_index: int, takes: int) -> set[int]:
    """Which takes of a version are accepted: the pass's accepts spread over the three shots."""
    accepts = ACCEPTS_PER_PASS[number]
    candidates = {i for i in range(takes) if (i + shot_index) % 3 == 0}
    return set(sorted(candidates)[: max(0, accepts // 3 + (shot_index < accepts % 3))])


def _defects(number: int, shot_index: int) -> dict[int, str]:
    """Takes rendered with a defect (index: tag), always rejected ones: on the first pass a
    flicker burst and a warp in every shot; on the second, one warp in the wide shot."""
    accepted = _accepted(number, shot_index, TAKES_PER_VERSION)
    rejected = [i for i in range(TAKES_PER_VERSION) if i not in accepted]
    if number == 1:
        return {rejected[0]: "flicker", rejected[1]: "warping"}
    if number == 2 and shot_index == 2:
        return {rejected[0]: "warping"}
    return {}


def _model(i: int, number: int, shot_index: int) -> str:
    """The model of a take; two takes of the wide shot's second version tried an unpriced one."""
    if shot_index == 2 and number == 2 and i in (1, 2):
        return UNPRICED_MODEL
    return MODELS[(i + number) % len(MODELS)]
