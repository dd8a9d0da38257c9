"""What djbench's fault scenarios read from the app: the task ledger (first times kept,
every start and finish counted), a refused enqueue (503, accepted=False), the durable
database backend and its workers, and the delivery settings /_djbench/env reports."""

import time
from unittest import mock

from django.tasks.backends.base import BaseTaskBackend
from django.test import TestCase, TransactionTestCase, override_settings

from bench import tasks
from bench.backends import dbworker
from bench.models import TaskRecord, WorkerHeartbeat
from serve import taskbackends


class BrokerDown(BaseTaskBackend):
    """A backend whose broker is gone: every enqueue raises, as kombu does then."""

    supports_defer = False

    def enqueue(self, task, args, kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


FAILING = {"default": {"BACKEND": "bench.tests.test_faults.BrokerDown"}}
DATABASE = {"default": taskbackends.backend("database")}
CELERY = {"default": taskbackends.backend("celery")}


def new_record():
    return TaskRecord.objects.create(kind="io", size=1, enqueued_ns=time.monotonic_ns())


class LedgerTests(TestCase):
    def test_a_redelivered_task_counts_twice_and_keeps_its_first_times(self):
        record = new_record()
        tasks.record_start(record.pk)
        tasks.record_finish(record.pk)
        first = TaskRecord.objects.get(pk=record.pk)
        time.sleep(0.001)
        with mock.patch("bench.tasks.worker_name", return_value="someone else"):
            tasks.record_start(record.pk)
        tasks.record_finish(record.pk)
        again = TaskRecord.objects.get(pk=record.pk)
        self.assertEqual((again.starts, again.finishes), (2, 2))
        self.assertEqual(again.started_ns, first.started_ns)
        self.assertEqual(again.finished_ns, first.finished_ns)
        self.assertEqual(again.worker, first.worker)
        self.assertNotEqual(again.worker, "someone else")

    def test_a_task_that_ran_once_counts_one_of_each(self):
        record = new_record()
        tasks.io_task.call(record.pk, 0)
        record.refresh_from_db()
        self.assertEqual((record.starts, record.finishes, record.accepted), (1, 1, True))
        self.assertGreaterEqual(record.finished_ns, record.started_ns)

    def test_a_start_without_a_finish_is_running(self):
        record = new_record()
        tasks.record_start(record.pk)
        record.refresh_from_db()
        self.assertEqual((record.starts, record.finishes), (1, 0))
        self.assertIsNone(record.finished_ns)


class EnqueueFailureTests(TestCase):
    @override_settings(TASKS=FAILING)
    def test_a_refused_task_is_a_503_and_not_accepted(self):
        response = self.client.get("/enqueue?kind=io&n=1")
        self.assertEqual(response.status_code, 503)
        body = response.json()
        self.assertIn("ConnectionError", body["error"])
        record = TaskRecord.objects.get(pk=body["id"])
        self.assertFalse(record.accepted)
        self.assertIsNone(record.started_ns)

    def test_the_tasks_page_counts_accepted_and_running(self):
        self.client.get("/enqueue?kind=io&n=0")  # immediate: accepted, ran
        with override_settings(TASKS=FAILING):
            self.assertEqual(self.client.get("/enqueue?kind=io&n=0").status_code, 503)
        running = new_record()
        tasks.record_start(running.pk)
        page = self.client.get("/_djbench/tasks").json()
        counts = {k: page[k] for k in ["enqueued", "accepted", "started", "finished", "running"]}
        self.assertEqual(
            counts, {"enqueued": 3, "accepted": 2, "started": 2, "finished": 1, "running": 1}
        )
        rows = {row["id"]: row for row in page["tasks"]}
        self.assertEqual(
            [(r["starts"], r["finishes"], r["accepted"]) for r in rows.values()],
            [(1, 1, True), (0, 0, False), (1, 0, True)],
        )
        for key in ["id", "kind", "size", "enqueued_ns", "started_ns", "finished_ns", "worker"]:
            self.assertIn(key, page["tasks"][0])


@override_settings(TASKS=DATABASE)
class DatabaseBackendTests(TransactionTestCase):
    def tearDown(self):
        dbworker.stop_threads()

    def test_tasks_wait_in_the_database_until_a_worker_runs_them(self):
        records = [new_record() for _ in range(4)]
        for r in records:
            tasks.io_task.enqueue(r.pk, 1)
        self.assertEqual(TaskRecord.objects.filter(started_ns__isnull=False).count(), 0)
        worker = dbworker.make_worker()
        worker.batch = True  # drain the queue, then return
        dbworker.run(worker)
        self.assertEqual(TaskRecord.objects.filter(finishes=1).count(), 4)
        self.assertEqual(WorkerHeartbeat.objects.filter(kind="database").count(), 1)

    def test_worker_threads_take_tasks_report_ready_and_stop(self):
        dbworker.start_threads(2)
        for _ in range(6):
            self.assertEqual(self.client.get("/enqueue?kind=io&n=5").status_code, 200)
        deadline = time.monotonic() + 20
        while TaskRecord.objects.filter(finishes=1).count() < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(TaskRecord.objects.filter(finishes=1).count(), 6)
        self.assertEqual(WorkerHeartbeat.objects.filter(kind="database").count(), 2)
        started = time.monotonic()
        dbworker.stop_threads()
        self.assertLess(time.monotonic() - started, 2 * dbworker.poll_interval() + 1)

    def test_env_reports_the_poll_interval(self):
        with mock.patch.dict("os.environ", {"DJBENCH_DB_WORKER_INTERVAL": "0.25"}):
            env = self.client.get("/_djbench/env").json()
        self.assertEqual(env["task_backend"], "django_tasks_db.DatabaseBackend")
        self.assertEqual(env["task_options"], {"poll_interval_s": 0.25})


class CeleryOptionTests(TestCase):
    def test_acks_early_is_the_default(self):
        with mock.patch.dict("os.environ", {}, clear=True):
            celery = taskbackends._celery()
        self.assertFalse(celery["CELERY_TASK_ACKS_LATE"])
        self.assertFalse(celery["CELERY_TASK_REJECT_ON_WORKER_LOST"])
        self.assertNotIn("CELERY_BROKER_TRANSPORT_OPTIONS", celery)

    def test_acks_late_and_a_visibility_timeout_when_asked(self):
        env = {"DJBENCH_CELERY_ACKS_LATE": "1", "DJBENCH_VISIBILITY_TIMEOUT": "30"}
        with mock.patch.dict("os.environ", env, clear=True):
            celery = taskbackends._celery()
        self.assertTrue(celery["CELERY_TASK_ACKS_LATE"])
        self.assertTrue(celery["CELERY_TASK_REJECT_ON_WORKER_LOST"])
        self.assertEqual(celery["CELERY_BROKER_TRANSPORT_OPTIONS"], {"visibility_timeout": 30.0})

    def test_a_bad_visibility_timeout_names_the_variable(self):
        with mock.patch.dict("os.environ", {"DJBENCH_VISIBILITY_TIMEOUT": "soon"}, clear=True):
            with self.assertRaisesMessage(ValueError, "DJBENCH_VISIBILITY_TIMEOUT"):
                taskbackends._celery()

    @override_settings(TASKS=CELERY)
    def test_env_reads_the_celery_apps_live_configuration(self):
        from djsample.celery import app

        options = self.client.get("/_djbench/env").json()["task_options"]
        self.assertEqual(
            options,
            {
                "acks_late": bool(app.conf.task_acks_late),
                "reject_on_worker_lost": bool(app.conf.task_reject_on_worker_lost),
                "visibility_timeout_s": None,
                "prefetch_multiplier": app.conf.worker_prefetch_multiplier,
            },
        )
        # Celery's settings object cannot be patched as a dict (mock.patch.dict fails to
        # restore it): set and restore by hand.
        saved = (app.conf.task_acks_late, app.conf.broker_transport_options)
        app.conf.task_acks_late = True
        app.conf.broker_transport_options = {"visibility_timeout": 5}
        try:
            options = self.client.get("/_djbench/env").json()["task_options"]
        finally:
            app.conf.task_acks_late, app.conf.broker_transport_options = saved
        self.assertEqual((options["acks_late"], options["visibility_timeout_s"]), (True, 5.0))

    def test_in_memory_backends_have_no_options(self):
        self.assertEqual(self.client.get("/_djbench/env").json()["task_options"], {})


class BrokerProbeTests(TestCase):
    def test_a_backend_without_a_broker_has_none_to_probe(self):
        self.assertEqual(self.client.get("/_djbench/broker").status_code, 404)

    @override_settings(TASKS=CELERY)
    def test_a_broker_that_does_not_answer_is_down(self):
        from djsample.celery import app

        # Nothing listens on port 1 of loopback: the PING is refused at once.
        saved = app.conf.broker_url
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        try:
            response = self.client.get("/_djbench/broker")
        finally:
            app.conf.broker_url = saved
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["broker"], "down")
