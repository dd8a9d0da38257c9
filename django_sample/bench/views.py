"""The endpoints djbench loads, each a workload with its own reason to be in a comparison, and
the bench endpoints under /_djbench/ that report on the deployment itself. Their async twins
live in bench.async_views and share the parameters and queries defined here.

The CPU work of every view is pure Python (bench.work.spin, Django's template engine): no
hashlib or other C code that releases the GIL, so a GIL build cannot look parallel through it.
Only waiting releases the GIL (time.sleep, the database driver)."""

import os
import sys
import sysconfig
import threading
import time

import django
from django.db.models import Avg, Count, Q
from django.conf import settings
from django.http import HttpResponseBadRequest, HttpResponseServerError, JsonResponse
from django.shortcuts import render

from . import freethreading, middleware
from .models import Article, Author, TaskRecord, WorkerHeartbeat, worker_name
from .tasks import KINDS
from .work import spin


def _int_param(request, name, default, low, high):
    try:
        value = int(request.GET.get(name, default))
    except ValueError:
        return None
    return value if low <= value <= high else None


# The workload parameters a sync view shares with its async twin (bench.async_views): name,
# default, bounds. One definition, so /cpu and /async/cpu cannot drift apart in what they
# accept or in the 400 they give.
CPU_N = ("n", 20_000, 0, 50_000_000)
IO_MS = ("ms", 10, 0, 60_000)


def bounded_param(request, spec):
    """`(value, None)`, or `(None, a 400 naming the bounds)` when the parameter is not a whole
    number within them."""
    name, default, low, high = spec
    value = _int_param(request, name, default, low, high)
    if value is None:
        return None, HttpResponseBadRequest(f"{name} must be {low}..{high}")
    return value, None


def hello(request):
    """Framework overhead: routing, middleware and a small JSON response."""
    return JsonResponse({"message": "hello"})


def top_articles():
    """/db's first query (lazy): the 20 best-rated articles, each with its author (a join, so
    reading `author` later runs no query: an async view may read it too)."""
    return Article.objects.select_related("author").order_by("-rating")[:20]


def countries():
    """/db's second query (lazy): a GROUP BY over a few authors' articles (a few hundred rows,
    not the whole table)."""
    return (
        Author.objects.filter(pk__lte=25)
        .values("country")
        .annotate(article_count=Count("articles"), mean_rating=Avg("articles__rating"))
        .order_by("country")
    )


def db(request):
    """ORM reads: the best-rated articles with their authors (a join), and an aggregate over
    a few authors' articles. /async/db runs the same two queries through the async ORM."""
    top = [
        {"title": a.title, "author": a.author.name, "rating": a.rating} for a in top_articles()
    ]
    return JsonResponse({"top": top, "countries": list(countries())})


def template(request):
    """Template rendering: a table of rows built in Python, like pyperformance's
    django_template benchmark, so it measures the template engine (pure Python, holding the
    GIL), not the database."""
    rows = _int_param(request, "rows", 100, 1, 2000)
    if rows is None:
        return HttpResponseBadRequest("rows must be 1..2000")
    table = [[f"r{r}c{c}" for c in range(10)] for r in range(rows)]
    return render(request, "bench/table.html", {"table": table, "rows": rows})


def cpu(request):
    """Pure-Python CPU work that holds the GIL for its whole run (bench.work.spin: bytecode
    only, no C code that releases the GIL, so a GIL build cannot look parallel here)."""
    n, bad = bounded_param(request, CPU_N)
    if bad:
        return bad
    return JsonResponse({"n": n, "result": spin(n)})


def io(request):
    """Waits like a call to an upstream API: the worker is busy but the CPU is free."""
    ms, bad = bounded_param(request, IO_MS)
    if bad:
        return bad
    time.sleep(ms / 1000)
    return JsonResponse({"ms": ms})


def enqueue(request):
    """Enqueues a background task through the mode's django.tasks backend. The record is
    written not accepted, and marked accepted once the backend has taken the task: a process
    that dies in between (a fault run's kill) leaves the task as never accepted, as its failed
    request says, not as lost. A backend that refuses it (its broker down, its database locked
    past the timeout …) gets a 503: never a 200 for a task nobody took."""
    kind = request.GET.get("kind", "io")
    if kind not in KINDS:
        return HttpResponseBadRequest("kind must be cpu or io")
    size = _int_param(request, "n", 50 if kind == "io" else 20_000, 0, 50_000_000)
    if size is None:
        return HttpResponseBadRequest("n must be 0..50000000")
    record = TaskRecord.objects.create(
        kind=kind, size=size, enqueued_ns=time.monotonic_ns(), accepted=False
    )
    try:
        result = KINDS[kind].enqueue(record.pk, size)
    except Exception as e:
        return JsonResponse(
            {"id": record.pk, "error": f"task not accepted: {type(e).__name__}: {e}"[:300]},
            status=503,
        )
    TaskRecord.objects.filter(pk=record.pk).update(accepted=True)
    return JsonResponse({"id": record.pk, "task_id": result.id})


# The distribution that provides each server djbench can run, for its version.
_SERVER_DISTRIBUTIONS = {
    "gunicorn_sync": "gunicorn",
    "gunicorn_gthread": "gunicorn",
    "cheroot": "cheroot",
    "waitress": "waitress",
    "hypercorn": "hypercorn",
    "granian": "granian",
    # Under gunicorn too (its UvicornWorker, from uvicorn-worker): the server is uvicorn's.
    "uvicorn": "uvicorn",
}


def interface(request):
    """The interface this request came through, observed from Django's request class: "asgi"
    for an ASGIRequest (an ASGI server, the tests' AsyncClient), "wsgi" for a WSGIRequest."""
    from django.core.handlers.asgi import ASGIRequest
    from django.core.handlers.wsgi import WSGIRequest

    if isinstance(request, ASGIRequest):
        return "asgi"
    if isinstance(request, WSGIRequest):
        return "wsgi"
    return "unknown"


def _server_version(server):
    """The serving package's installed version; wsgiref is the standard library's."""
    from importlib import metadata

    dist = _SERVER_DISTRIBUTIONS.get(server)
    if dist is None:
        return sys.version.split()[0] if server == "wsgiref" else None
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _extension_modules():
    suffixes = (".so", ".pyd")
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if (getattr(module, "__file__", None) or "").endswith(suffixes)
    )


def _psycopg_implementation():
    try:
        import psycopg

        return psycopg.pq.__impl__
    except Exception:  # not installed, or libpq missing
        return None


def _task_options():
    """The delivery settings of the task backend in use, read from the live objects (the Celery
    app's configuration, the worker's poll interval), not from the environment that asked for
    them. Keys by backend:
    - Celery: acks_late, reject_on_worker_lost (booleans), visibility_timeout_s (the redis
      transport's, seconds; null when Celery's default applies, one hour), prefetch_multiplier;
    - django-tasks-db: poll_interval_s, how long an idle worker sleeps between polls;
    - any other backend (memory queues, a project's own): {}."""
    from django.tasks import task_backends

    backend = task_backends["default"]
    try:
        from django_tasks_celery import CeleryBackend
    except ImportError:
        CeleryBackend = None
    try:
        from django_tasks_db import DatabaseBackend
    except ImportError:
        DatabaseBackend = None
    if CeleryBackend is not None and isinstance(backend, CeleryBackend):
        conf = backend._get_celery_app().conf
        timeout = (conf.broker_transport_options or {}).get("visibility_timeout")
        return {
            "acks_late": bool(conf.task_acks_late),
            "reject_on_worker_lost": bool(conf.task_reject_on_worker_lost),
            "visibility_timeout_s": None if timeout is None else float(timeout),
            "prefetch_multiplier": conf.worker_prefetch_multiplier,
        }
    if DatabaseBackend is not None and isinstance(backend, DatabaseBackend):
        from .backends import dbworker

        return {"poll_interval_s": dbworker.poll_interval()}
    return {}


def broker(request):
    """Whether the task backend's broker answers now: 200 when it answers a PING, 503 when it
    does not, 404 for a backend without one. djbench asks this after a fault to the
    broker to time its recovery, without enqueueing a task."""
    from django.tasks import task_backends

    backend = task_backends["default"]
    try:
        from django_tasks_celery import CeleryBackend
    except ImportError:
        CeleryBackend = None
    if CeleryBackend is None or not isinstance(backend, CeleryBackend):
        return JsonResponse({"broker": None}, status=404)
    # A ping on a connection of its own: kombu's connections connect lazily, so opening one
    # proves nothing until a command goes through.
    import redis

    url = backend._get_celery_app().conf.broker_url
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as e:  # any failure to reach it is "down", with its reason
        return JsonResponse({"broker": "down", "error": f"{type(e).__name__}: {e}"}, status=503)
    return JsonResponse({"broker": "up"})


def env(request):
    """What is serving this request, observed now: interpreter, GIL state, process,
    subinterpreter and thread, server, the interface (wsgi or asgi), versions, how many task
    workers are up, and the task backend's delivery settings (`task_options`, see _task_options)."""
    return JsonResponse(
        {
            "python": sys.version.split()[0],
            "implementation": sys.implementation.name,
            "executable": sys.executable,
            "config_args": sysconfig.get_config_var("CONFIG_ARGS") or "",
            "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
            "gil_enabled": freethreading.gil_enabled(),
            "gil_culprits": freethreading.culprits(),
            "pid": os.getpid(),
            "interpreter_id": middleware.INTERPRETER_ID,
            "thread_id": threading.get_native_id(),
            "worker": worker_name(),
            "server": os.environ.get("DJBENCH_SERVER", "unknown"),
            "interface": interface(request),
            "server_version": _server_version(os.environ.get("DJBENCH_SERVER", "")),
            "mode": os.environ.get("DJBENCH_MODE", "unknown"),
            # The backend that runs, as the settings name it (a project's own, or the mode's).
            "task_backend": settings.TASKS.get("default", {}).get("BACKEND", "unknown"),
            "task_options": _task_options(),
            "django": django.get_version(),
            "psycopg": _psycopg_implementation(),
            "extension_modules": _extension_modules(),
            "task_workers_ready": WorkerHeartbeat.objects.count(),
        }
    )


def tasks(request):
    """Task accounting since a cursor: counts, and each task's enqueue, start and finish
    times (CLOCK_MONOTONIC ns) with ids above `after`, at most `limit` of them.

    Counts cover every record: `enqueued` (asked for, accepted or not), `accepted` (the
    backend took it), `started`, `finished` (at least once), `running` (started, not
    finished). Each task also carries `starts` and `finishes` (how many deliveries began and
    ended: 2 finishes is a duplicate run) and `accepted`."""
    if "tasks_500" in settings.DJBENCH_FAULTS:
        return HttpResponseServerError("fault injected: tasks_500")
    after = _int_param(request, "after", 0, 0, 2**62)
    limit = _int_param(request, "limit", 5000, 1, 100_000)
    if after is None or limit is None:
        return HttpResponseBadRequest("after and limit must be whole numbers")
    records = list(
        TaskRecord.objects.filter(pk__gt=after)
        .order_by("pk")
        .values(
            "id",
            "kind",
            "size",
            "enqueued_ns",
            "started_ns",
            "finished_ns",
            "worker",
            "starts",
            "finishes",
            "accepted",
        )[:limit]
    )
    # One query for the counts, so they describe one moment.
    counts = TaskRecord.objects.aggregate(
        enqueued=Count("id"),
        accepted=Count("id", filter=Q(accepted=True)),
        started=Count("id", filter=Q(started_ns__isnull=False)),
        finished=Count("id", filter=Q(finished_ns__isnull=False)),
        running=Count("id", filter=Q(started_ns__isnull=False, finished_ns__isnull=True)),
    )
    return JsonResponse(
        {
            **counts,
            "now_ns": time.monotonic_ns(),
            "tasks": records,
            "next": records[-1]["id"] if records else after,
        }
    )
