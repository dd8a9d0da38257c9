"""The background tasks every mode runs, through whichever django.tasks backend it has."""

import time

from django.tasks import task

from .models import TaskRecord, worker_name
from .work import spin


def _run(record_id, work):
    TaskRecord.objects.filter(pk=record_id).update(
        started_ns=time.monotonic_ns(), worker=worker_name()
    )
    work()
    TaskRecord.objects.filter(pk=record_id).update(finished_ns=time.monotonic_ns())


@task
def cpu_task(record_id, n):
    """Pure-Python work of `n` iterations."""
    _run(record_id, lambda: spin(n))


@task
def io_task(record_id, ms):
    """Waits `ms` milliseconds, like a call to a slow upstream API."""
    _run(record_id, lambda: time.sleep(ms / 1000))


KINDS = {"cpu": cpu_task, "io": io_task}
