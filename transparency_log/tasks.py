from celery import shared_task

from .checkpoints import checkpoint_publish


@shared_task
def publish_checkpoint() -> int | None:
    """Every LOG_CHECKPOINT_SECONDS (beat): sign and keep a checkpoint when the consent log grew. Its tree size."""
    checkpoint = checkpoint_publish()
    return checkpoint and checkpoint.tree_size
