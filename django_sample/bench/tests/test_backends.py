import time
import unittest

from django.core.exceptions import ImproperlyConfigured
from django.tasks import task_backends
from django.test import TransactionTestCase, override_settings

from bench import tasks
from bench.backends import interpreters as interpreter_backend
from bench.models import TaskRecord, WorkerHeartbeat

try:
    from concurrent import interpreters
except ImportError:  # CPython 3.13 has no concurrent.interpreters
    interpreters = None

THREADS = {"default": {"BACKEND": "bench.backends.threads.ThreadPoolBackend",
                       "OPTIONS": {"THREADS": 3}}}
QUEUE = {"default": {"BACKEND": "bench.backends.interpreters.InterpreterQueueBackend"}}
CELERY = {"default": {"BACKEND": "django_tasks_celery.CeleryBackend",
                      "OPTIONS": {"CELERY_APP": "djsample.celery.app"}}}


def enqueue_records(count, kind="io", n=1):
    records = [TaskRecord.objects.create(kind=kind, size=n, enqueued_ns=time.monotonic_ns())
               for _ in range(count)]
    for record in records:
        tasks.KINDS[kind].enqueue(record.pk, n)
    return records


def wait_finished(count, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if TaskRecord.objects.filter(finished_ns__isnull=False).count() >= count:
            return True
        time.sleep(0.02)
    return False


@override_settings(TASKS=THREADS)
class ThreadPoolBackendTests(TransactionTestCase):
    def tearDown(self):
        task_backends["default"].stop()

    def test_threads_run_every_task_and_report_ready(self):
        enqueue_records(20, "io", 5)
        enqueue_records(5, "cpu", 1000)
        self.assertTrue(wait_finished(25))
        self.assertEqual(WorkerHeartbeat.objects.filter(kind="thread").count(), 3)
        workers = set(TaskRecord.objects.values_list("worker", flat=True))
        self.assertGreater(len(workers), 1, "one thread did all the work")

    def test_stop_lets_queued_tasks_finish(self):
        enqueue_records(10, "io", 10)
        task_backends["default"].stop()
        self.assertEqual(TaskRecord.objects.filter(finished_ns__isnull=True).count(), 0)


@override_settings(TASKS=QUEUE)
class InterpreterQueueBackendTests(TransactionTestCase):
    def tearDown(self):
        interpreter_backend.QUEUE = None

    def test_without_the_launcher_it_says_what_is_missing(self):
        interpreter_backend.QUEUE = None
        with self.assertRaisesMessage(ImproperlyConfigured, "serve/subinterpreters.py"):
            tasks.io_task.enqueue(1, 1)

    @unittest.skipIf(interpreters is None, "needs concurrent.interpreters (3.14)")
    def test_tasks_cross_a_real_interpreter_queue_and_run(self):
        queue = interpreters.create_queue()
        interpreter_backend.QUEUE = queue
        enqueue_records(5, "io", 1)
        enqueue_records(2, "cpu", 100)
        queue.put(None)
        interpreter_backend.run_worker(queue)
        self.assertEqual(TaskRecord.objects.filter(finished_ns__isnull=False).count(), 7)
        self.assertEqual(WorkerHeartbeat.objects.filter(kind="interpreter").count(), 1)


@override_settings(TASKS=CELERY)
class CeleryBackendTests(TransactionTestCase):
    def setUp(self):
        from djsample.celery import app

        # No broker in unit tests: Celery runs each task where it is sent.
        self.app = app
        app.conf.task_always_eager = True

    def tearDown(self):
        self.app.conf.task_always_eager = False

    def test_tasks_go_through_celery_and_are_recorded(self):
        enqueue_records(3, "io", 1)
        enqueue_records(1, "cpu", 100)
        self.assertEqual(TaskRecord.objects.filter(finished_ns__isnull=False).count(), 4)
