from .generation import (
    BatchStatus,
    GenerationBatch,
    GenerationJob,
    GenerationStatus,
)
from .imports import ImportState, ManifestImport
from .projects import Membership, Project, PromptVersion, Role, Shot
from .reviews import FailureTag, Note, Review, ReviewKind, Verdict
from .rollups import (
    Dimension,
    JobState,
    ProjectRollup,
    RollupChange,
    RollupCount,
    RollupRow,
    TakeContribution,
)
from .takes import ModelPrice, ProvenanceState, Take, TakeStatus
from .tokens import ApiToken, IdempotencyKey
from .webhooks import (
    BudgetThresholdMark,
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "BatchStatus",
    "GenerationBatch",
    "GenerationJob",
    "GenerationStatus",
    "ApiToken",
    "BudgetThresholdMark",
    "DeliveryState",
    "Dimension",
    "JobState",
    "ProjectRollup",
    "RollupChange",
    "RollupCount",
    "RollupRow",
    "TakeContribution",
    "FailureTag",
    "IdempotencyKey",
    "ImportState",
    "ManifestImport",
    "Membership",
    "ModelPrice",
    "Note",
    "Project",
    "PromptVersion",
    "ProvenanceState",
    "Review",
    "ReviewKind",
    "Role",
    "Shot",
    "Take",
    "TakeStatus",
    "Verdict",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
