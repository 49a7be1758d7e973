from celery import shared_task


@shared_task(ignore_result=True)
def rollups_refresh(project_id: int) -> None:
    """Placeholder until the analytics land (issue 3): nothing is computed yet."""
    return None
