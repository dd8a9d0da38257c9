"""A django.tasks backend for the subinterpreters mode: web subinterpreters put tasks on a
concurrent.interpreters.Queue, task subinterpreters take them off and run them. Only
shareable data crosses interpreters, so a task travels as JSON (its path and arguments).

The launcher (serve/subinterpreters.py) hands the same queue to every interpreter and sets
QUEUE in each before it serves. Queue.get() polls (10 ms sleeps in CPython 3.14): a floor on
task pick-up latency that djbench measures rather than hides."""

import json
import logging

from django.core.exceptions import ImproperlyConfigured
from django.tasks.backends.base import BaseTaskBackend
from django.utils.module_loading import import_string

from . import ready_result

logger = logging.getLogger(__name__)

QUEUE = None


class InterpreterQueueBackend(BaseTaskBackend):
    supports_defer = False
    supports_async_task = False

    def enqueue(self, task, args, kwargs):
        if QUEUE is None:
            raise ImproperlyConfigured(
                "InterpreterQueueBackend needs bench.backends.interpreters.QUEUE: "
                "run the app with serve/subinterpreters.py"
            )
        self.validate_task(task)
        result = ready_result(self, task, args, kwargs)
        QUEUE.put(json.dumps([task.module_path, result.args, result.kwargs]))
        return result


def run_worker(queue):
    """A task worker's loop: runs tasks from `queue` until it reads None."""
    from bench.models import WorkerHeartbeat

    WorkerHeartbeat.report("interpreter")
    while (payload := queue.get()) is not None:
        path, args, kwargs = json.loads(payload)
        try:
            import_string(path).call(*args, **kwargs)
        except Exception:
            logger.exception("task %s failed", path)
