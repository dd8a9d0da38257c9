import json

from django.core.management import call_command
from django.test import TestCase

from bench.models import TaskRecord
from bench.work import spin


class SeededTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        call_command("seed", stdout=open("/dev/null", "w"))


class WorkloadViewTests(SeededTestCase):
    def test_hello_is_a_small_json_answer(self):
        response = self.client.get("/hello")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"message": "hello"})

    def test_db_joins_and_aggregates(self):
        body = self.client.get("/db").json()
        self.assertEqual(len(body["top"]), 20)
        ratings = [row["rating"] for row in body["top"]]
        self.assertEqual(ratings, sorted(ratings, reverse=True))
        self.assertTrue(all(row["author"] for row in body["top"]))
        self.assertTrue(body["countries"])
        for row in body["countries"]:
            self.assertGreater(row["article_count"], 0)

    def test_template_renders_the_requested_rows(self):
        response = self.client.get("/template?rows=7")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertEqual(html.count("<tr "), 7)
        self.assertIn("R6C9", html)

    def test_cpu_does_the_work_it_is_asked(self):
        self.assertEqual(self.client.get("/cpu?n=1000").json(), {"n": 1000, "result": spin(1000)})
        self.assertEqual(spin(1000), 729977)

    def test_io_waits(self):
        self.assertEqual(self.client.get("/io?ms=1").json(), {"ms": 1})

    def test_bad_parameters_are_400(self):
        for path in ["/cpu?n=x", "/cpu?n=-1", "/io?ms=999999", "/template?rows=0",
                     "/enqueue?kind=gpu", "/_djbench/tasks?after=x"]:
            with self.subTest(path=path):
                self.assertEqual(self.client.get(path).status_code, 400)


class BenchEndpointTests(SeededTestCase):
    def test_env_reports_the_interpreter_as_observed(self):
        import sys

        env = self.client.get("/_djbench/env").json()
        self.assertEqual(env["python"], sys.version.split()[0])
        self.assertEqual(env["gil_enabled"], getattr(sys, "_is_gil_enabled", lambda: True)())
        for key in ["pid", "interpreter_id", "thread_id", "django", "extension_modules",
                    "task_workers_ready", "free_threaded_build", "config_args"]:
            self.assertIn(key, env)

    def test_every_response_names_its_worker_errors_too(self):
        import os
        import threading

        from bench.middleware import INTERPRETER_ID

        expected = f"{os.getpid()}.{INTERPRETER_ID}.{threading.get_native_id()}"
        for path in ["/hello", "/cpu?n=x", "/nowhere"]:
            with self.subTest(path=path):
                self.assertEqual(self.client.get(path)["X-Djbench-Worker"], expected)

    def test_env_names_the_servers_version(self):
        import importlib.metadata
        from unittest import mock

        with mock.patch.dict("os.environ", {"DJBENCH_SERVER": "cheroot"}):
            env = self.client.get("/_djbench/env").json()
        self.assertEqual(env["server_version"], importlib.metadata.version("cheroot"))

    def test_enqueue_records_and_runs_each_kind(self):
        for kind, n in [("io", 1), ("cpu", 100)]:
            with self.subTest(kind=kind):
                body = self.client.get(f"/enqueue?kind={kind}&n={n}").json()
                record = TaskRecord.objects.get(pk=body["id"])
                self.assertEqual((record.kind, record.size), (kind, n))
                # The immediate backend of the tests ran it already.
                self.assertIsNotNone(record.started_ns)
                self.assertGreaterEqual(record.finished_ns, record.started_ns)
                self.assertGreaterEqual(record.started_ns, record.enqueued_ns)

    def test_tasks_counts_and_pages_with_a_cursor(self):
        for _ in range(3):
            self.client.get("/enqueue?kind=io&n=0")
        TaskRecord.objects.create(kind="io", size=1, enqueued_ns=1)  # enqueued, never run
        first = self.client.get("/_djbench/tasks?limit=2").json()
        self.assertEqual((first["enqueued"], first["started"], first["finished"]), (4, 3, 3))
        self.assertEqual(len(first["tasks"]), 2)
        rest = self.client.get(f"/_djbench/tasks?after={first['next']}").json()
        self.assertEqual(len(rest["tasks"]), 2)
        self.assertIsNone(rest["tasks"][-1]["finished_ns"])
        self.assertEqual(json.loads(json.dumps(rest))["next"], rest["tasks"][-1]["id"])

    def test_the_tasks_500_fault_breaks_only_the_task_accounting(self):
        with self.settings(DJBENCH_FAULTS=frozenset({"tasks_500"})):
            self.assertEqual(self.client.get("/_djbench/tasks").status_code, 500)
            self.assertEqual(self.client.get("/enqueue?kind=io&n=0").status_code, 200)
        self.assertEqual(self.client.get("/_djbench/tasks").status_code, 200)
