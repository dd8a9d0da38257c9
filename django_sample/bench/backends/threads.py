"""A django.tasks backend for the free_threaded mode: task threads in the serving process, fed
by a queue.Queue. One pool per process: Django hands each thread its own backend instance, so
the pool lives at module level."""

import logging
import queue
import threading

from django.tasks.backends.base import BaseTaskBackend

from . import ready_result

logger = logging.getLogger(__name__)

_pools = {}
_pools_lock = threading.Lock()


class _Pool:
    def __init__(self, size):
        self.queue = queue.Queue()
        self.threads = [
            threading.Thread(target=self._work, name=f"djbench-task-{i}", daemon=True)
            for i in range(size)
        ]
        for t in self.threads:
            t.start()

    def _work(self):
        from bench.models import WorkerHeartbeat

        WorkerHeartbeat.report("thread")
        while (result := self.queue.get()) is not None:
            try:
                result.task.call(*result.args, **result.kwargs)
            except Exception:
                logger.exception("task %s failed", result.task.module_path)

    def stop(self):
        """Lets queued tasks finish, then ends the threads."""
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join()


class ThreadPoolBackend(BaseTaskBackend):
    supports_defer = False
    supports_async_task = False

    def __init__(self, alias, params):
        super().__init__(alias, params)
        self.size = int(self.options.get("THREADS", 2))

    def start(self):
        """Starts this process's task threads (idempotent); launchers call it at start-up so
        the workers are ready before load arrives."""
        with _pools_lock:
            pool = _pools.get(self.alias)
            if pool is None:
                pool = _pools[self.alias] = _Pool(self.size)
            return pool

    def stop(self):
        with _pools_lock:
            pool = _pools.pop(self.alias, None)
        if pool is not None:
            pool.stop()

    def enqueue(self, task, args, kwargs):
        self.validate_task(task)
        result = ready_result(self, task, args, kwargs)
        self.start().queue.put(result)
        return result
