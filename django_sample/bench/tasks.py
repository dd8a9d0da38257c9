"""The background tasks every mode runs, through whichever django.tasks backend it has."""

import time

from django.db.models import BigIntegerField, Case, F, Value, When
from django.db.models.functions import Coalesce
from django.tasks import task

from .models import TaskRecord, worker_name
from .work import spin


def _first(field, now):
    """`field` if it is already set, else `now`: a redelivered task keeps its first time."""
    return Coalesce(F(field), Value(now), output_field=BigIntegerField())


def record_start(record_id):
    """One start of the task: the first start's time and worker stay, `starts` counts all.
    One UPDATE, so two deliveries running at once cannot both write "the first" time (SQL
    evaluates every SET expression against the row as it was)."""
    TaskRecord.objects.filter(pk=record_id).update(
        started_ns=_first("started_ns", time.monotonic_ns()),
        worker=Case(
            When(started_ns__isnull=True, then=Value(worker_name())), default=F("worker")
        ),
        starts=F("starts") + 1,
    )


def record_finish(record_id):
    """One finish: the first finish's time stays, `finishes` counts all (2 = ran twice)."""
    TaskRecord.objects.filter(pk=record_id).update(
        finished_ns=_first("finished_ns", time.monotonic_ns()),
        finishes=F("finishes") + 1,
    )


def _run(record_id, work):
    record_start(record_id)
    work()
    record_finish(record_id)


@task
def cpu_task(record_id, n):
    """Pure-Python work of `n` iterations."""
    _run(record_id, lambda: spin(n))


@task
def io_task(record_id, ms):
    """Waits `ms` milliseconds, like a call to a slow upstream API."""
    _run(record_id, lambda: time.sleep(ms / 1000))


KINDS = {"cpu": cpu_task, "io": io_task}
