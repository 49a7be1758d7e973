"""The seeded failure taxonomy (SPEC §2) and default model prices. Used by the data migration
and by tests; the database rows are editable afterwards."""

import datetime
from decimal import Decimal

FAILURE_TAGS = [
    # slug, name, group, definition, benchmark, remediation
    ("flicker", "Flicker", "temporal",
     "Brightness or texture popping between frames in static regions.",
     "VBench temporal_flickering",
     "Lock the lighting in the prompt; shorten the clip; try a model with stronger temporal consistency."),
    ("warping", "Warping", "temporal",
     "Geometry of subject or background deforms over time.",
     "VBench subject/background consistency; EvalCrafter warping error",
     "Simplify the scene, slow the camera move, reduce the number of moving subjects."),
    ("morphing", "Morphing", "identity",
     "A character's identity or face drifts across frames.",
     "VBench-2.0 Human_Identity",
     "Describe the character precisely and consistently; use a reference image where supported."),
    ("anatomy", "Anatomy", "identity",
     "Extra or fused limbs, melting faces or hands.",
     "VBench-2.0 Human_Anatomy",
     "Keep hands out of close-ups; ask for simpler poses; fewer people in frame."),
    ("blur", "Blur / exposure", "image",
     "Soft, noisy or badly exposed frames.",
     "VBench imaging_quality",
     "Name the lighting and lens; ask for a sharp focus; raise resolution settings."),
    ("jerky-motion", "Jerky motion", "motion",
     "Stutter, jitter, unnatural speed changes.",
     "VBench motion_smoothness",
     "Ask for one smooth camera move; avoid fast action; check the frame rate setting."),
    ("frozen", "Frozen", "motion",
     "Too little motion for what was asked.",
     "VBench dynamic_degree",
     "Name the action and the camera move explicitly; lengthen the clip."),
    ("object-permanence", "Object permanence", "consistency",
     "Objects vanish, duplicate or change after occlusion.",
     "VBench-2.0 Instance_Preservation",
     "Avoid occlusions and crossing subjects; keep the object count small."),
    ("physics", "Physics", "consistency",
     "Gravity, collisions, fluids or materials behave impossibly.",
     "VBench-2.0 Mechanics/Material; PhyGenBench",
     "Describe the physical action step by step; avoid liquids and collisions in one shot."),
    ("illegible-text", "Illegible text", "content",
     "Garbled signs, captions or documents.",
     "EvalCrafter OCR score",
     "Do not ask for on-screen text; add titles in the edit instead."),
    ("prompt-adherence", "Prompt adherence", "content",
     "Wrong subject, count, colour, layout or style.",
     "VBench object_class, spatial_relationship, overall_consistency",
     "Put the subject first; at most two subjects; state counts and colours plainly."),
    ("camera-motion", "Camera motion", "motion",
     "The requested camera move is ignored or wrong.",
     "VBench-2.0 Camera_Motion",
     "Use one standard camera term (dolly-in, pan left, static) early in the prompt."),
    ("lighting", "Lighting", "image",
     "Lighting or shadows change without cause.",
     "",
     "Name one light source and time of day; avoid mixed lighting."),
    ("composition", "Composition", "image",
     "Framing or subject placement unusable.",
     "",
     "Name the shot size (wide, medium, close-up) and the subject's position."),
    ("artifacts", "Artifacts", "image",
     "Compression blocks, seams, watermarks.",
     "",
     "Regenerate at a higher quality setting; check the export codec."),
    ("audio-sync", "Audio sync", "audio",
     "Sound or lips out of sync (models that generate audio).",
     "",
     "Shorten dialogue; generate audio separately and sync in the edit."),
]  # fmt: skip

# USD per generated second, as published list prices at the time of writing.
DEFAULT_PRICES = {
    "sora-2": "0.10",
    "sora-2-pro": "0.30",
    "veo-3": "0.40",
    "veo-3-fast": "0.15",
    "kling-2": "0.07",
    "runway-gen4-turbo": "0.05",
    "runway-gen4": "0.12",
    "pika-2": "0.04",
    "luma-ray2": "0.08",
    "svd-xt": "0.01",
}

PRICES_VALID_FROM = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)

# USD per generated second for the models the provider adapters (generations/providers/)
# generate with, keyed by the model id the adapter sends (ModelSpec.id), seeded by migration
# 0018. Editable defaults: ../shared/background/ quotes no price for any of these models, so
# each figure is the provider's published list price as we read it when the adapter was
# written. Prices change; a producer corrects them on Budget & prices (a newer row wins).
PROVIDER_PRICES = {
    # Google Gemini API (Veo): per second of output, with audio for 3.1.
    "veo-3.1-generate-preview": "0.40",
    "veo-3.1-fast-generate-preview": "0.15",
    "veo-2.0-generate-001": "0.35",
    # Runway API: credits per second × $0.01 a credit (DAILIES_RUNWAY_USD_PER_CREDIT). Runway
    # reports each job's charge, which the take keeps; this is the estimate the guard counts.
    "gen4.5": "0.12",  # 12 credits/s
    "veo3.1": "0.40",  # 40 credits/s
    "veo3.1_fast": "0.15",  # 15 credits/s
    # fal: Kling 1.6 Pro is billed per second of video ($0.475 a 5 s clip). LTX Video is billed
    # per clip; $0.01/s (≈ $0.05 a 5 s clip) is a rough, deliberately high, editable figure.
    "fal-ai/kling-video/v1.6/pro/text-to-video": "0.095",
    "fal-ai/ltx-video": "0.01",
}


def seed_reference_data(FailureTag, ModelPrice) -> None:  # noqa: N803 (model classes)
    """Create or refresh the taxonomy and the workspace prices, idempotently. Takes the model
    classes so the data migration can pass its historical models."""
    for position, (slug, name, group, definition, benchmark, remediation) in enumerate(
        FAILURE_TAGS, start=1
    ):
        FailureTag.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "group": group,
                "definition": definition,
                "benchmark": benchmark,
                "remediation": remediation,
                "position": position,
            },
        )
    _seed_prices(ModelPrice, DEFAULT_PRICES)


def seed_provider_prices(ModelPrice) -> None:  # noqa: N803 (a model class)
    """Workspace prices for the provider adapters' models, idempotently (migration 0018). A
    price a producer already set for one of these models from the same date is kept."""
    _seed_prices(ModelPrice, PROVIDER_PRICES)


def _seed_prices(ModelPrice, prices: dict[str, str]) -> None:  # noqa: N803
    for model, price in prices.items():
        ModelPrice.objects.get_or_create(
            project=None,
            model=model,
            valid_from=PRICES_VALID_FROM,
            defaults={"usd_per_second": Decimal(price)},
        )
