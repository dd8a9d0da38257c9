from django.tasks.base import TaskResult, TaskResultStatus
from django.utils import timezone
from django.utils.crypto import get_random_string


def ready_result(backend, task, args, kwargs):
    """The TaskResult of a task just enqueued on `backend`: what both in-process backends
    hand back from enqueue()."""
    return TaskResult(
        task=task,
        id=get_random_string(32),
        status=TaskResultStatus.READY,
        enqueued_at=timezone.now(),
        started_at=None,
        last_attempted_at=None,
        finished_at=None,
        args=args,
        kwargs=kwargs,
        backend=backend.alias,
        errors=[],
        worker_ids=[],
    )
