import os
import threading
import time

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2)

    def __str__(self):
        return self.name


class Article(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="articles")
    title = models.CharField(max_length=200)
    body = models.TextField()
    published = models.DateField()
    words = models.PositiveIntegerField()
    rating = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["-rating"])]

    def __str__(self):
        return self.title


def worker_name():
    """Who is running this code: process, interpreter and thread."""
    try:
        from concurrent import interpreters

        interp = interpreters.get_current().id
    except ImportError:  # 3.13 has no concurrent.interpreters
        interp = 0
    return f"pid={os.getpid()} interp={interp} thread={threading.get_native_id()}"


class TaskRecord(models.Model):
    """One enqueued task, written by the app at enqueue and by the task itself at start and
    finish, so a task that never finishes is counted as lost. Times are CLOCK_MONOTONIC
    nanoseconds, which every process of the machine shares.

    A task may run more than once (a broker redelivers it after its worker died): the times
    and worker are those of the first start and the first finish, and `starts` / `finishes`
    count every one, so a duplicate shows as finishes > 1 rather than as a moved time."""

    kind = models.CharField(max_length=8)
    size = models.PositiveIntegerField()
    enqueued_ns = models.BigIntegerField()
    started_ns = models.BigIntegerField(null=True)
    finished_ns = models.BigIntegerField(null=True)
    worker = models.CharField(max_length=80, blank=True)
    # How many times the task started and finished (1 and 1 when all went well).
    starts = models.PositiveIntegerField(default=0)
    finishes = models.PositiveIntegerField(default=0)
    # False when the backend refused the task at enqueue (its broker down …): the client got a
    # 503, so such a task is not lost, it was never taken.
    accepted = models.BooleanField(default=True)


class WorkerHeartbeat(models.Model):
    """A task worker that is up and can take tasks; djbench waits for all of them."""

    kind = models.CharField(max_length=16)
    worker = models.CharField(max_length=80)
    started_ns = models.BigIntegerField()

    @classmethod
    def report(cls, kind):
        cls.objects.create(kind=kind, worker=worker_name(), started_ns=time.monotonic_ns())
