"""Generation from Dailies: batches behind the budget guard (batches.py, guard.py) and the
worker's side of each job (jobs.py)."""

from .batches import (
    BatchSpec,
    batch_approve,
    batch_cancel,
    batch_create,
    batch_regenerate_version,
    batch_reject,
    batch_validate,
    job_cancel,
)
from .guard import BatchRefused, budget_state, estimate
from .jobs import Step, job_cancel_remote, job_poll, job_submit, jobs_reconcile

__all__ = [
    "BatchRefused",
    "BatchSpec",
    "Step",
    "batch_approve",
    "batch_cancel",
    "batch_create",
    "batch_regenerate_version",
    "batch_reject",
    "batch_validate",
    "budget_state",
    "estimate",
    "job_cancel",
    "job_cancel_remote",
    "job_poll",
    "job_submit",
    "jobs_reconcile",
]
