from .projects import Membership, Project, PromptVersion, Role, Shot
from .reviews import FailureTag, Note, Review, Verdict
from .takes import ModelPrice, Take, TakeStatus

__all__ = [
    "FailureTag",
    "Membership",
    "ModelPrice",
    "Note",
    "Project",
    "PromptVersion",
    "Review",
    "Role",
    "Shot",
    "Take",
    "TakeStatus",
    "Verdict",
]
