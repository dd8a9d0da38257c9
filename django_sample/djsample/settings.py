"""
Settings of the djbench sample project, read from the environment so that djbench can deploy
the same project in every mode:

DJBENCH_DB            sqlite (default) or postgres
DJBENCH_SQLITE_PATH   the SQLite file (default: db.sqlite3 beside manage.py)
DJBENCH_PG_HOST, DJBENCH_PG_PORT, DJBENCH_PG_NAME, DJBENCH_PG_USER
DJBENCH_TASKS         immediate (default), celery, interpreters, threads or database: the
                      django.tasks backend of the mode (serve/taskbackends.py); database is
                      django-tasks-db, whose workers the launchers run (--task-backend database)
DJBENCH_REDIS_URL     the Celery broker (celery backend only)
DJBENCH_TASK_THREADS  task threads of the threads backend (default 2)
DJBENCH_CELERY_ACKS_LATE   1: Celery acknowledges a task after it ran and requeues it when the
                      child running it dies (task_acks_late, task_reject_on_worker_lost); unset:
                      acknowledged when taken, Celery's default (a killed task is lost)
DJBENCH_VISIBILITY_TIMEOUT seconds before redis hands an unacknowledged task to another worker
                      (broker_transport_options); unset: Celery's default, one hour
DJBENCH_DB_WORKER_INTERVAL seconds an idle django-tasks-db worker sleeps between polls (default
                      0.1, a choice: db_worker's own 1 s would add up to a second of pick-up
                      latency; bench/backends/dbworker.py)
DJBENCH_DB_WORKER_THREADS  django-tasks-db worker threads in the serving process (set by
                      serve/free_threaded.py --task-backend database; default none)
DJBENCH_SECRET_KEY    shared by every process of a deployment (default: a fresh random key)
DJBENCH_FAULTS        faults to inject, comma-separated, for djbench's own tests (default none):
                      tasks_500 makes the task accounting view (/_djbench/tasks) answer 500
"""

import os
import tempfile
from pathlib import Path

from django.core.management.utils import get_random_secret_key

from serve import taskbackends

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJBENCH_SECRET_KEY") or get_random_secret_key()

# A benchmark must measure production behaviour: no debug toolbar of any kind.
DEBUG = False

# Load only ever comes from the same machine.
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

# django_tasks_db always, so the template database every deployment copies has its table
# whichever backend a scenario picks.
INSTALLED_APPS = ["bench", taskbackends.DATABASE_APP]

MIDDLEWARE = [
    # First, so every response names its worker, errors included.
    "bench.middleware.worker_header",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "djsample.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    },
]

WSGI_APPLICATION = "djsample.wsgi.application"

if os.environ.get("DJBENCH_DB", "sqlite") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("DJBENCH_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("DJBENCH_PG_PORT", "5432"),
            "NAME": os.environ.get("DJBENCH_PG_NAME", "djbench"),
            "USER": os.environ.get("DJBENCH_PG_USER", "djbench"),
            # Workers keep their connection across requests, as production setups do.
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("DJBENCH_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # WAL lets readers run beside the one writer; the busy timeout and IMMEDIATE
                # transactions make concurrent writers wait instead of failing.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
            },
            # Workers keep their connection across requests, as with PostgreSQL. In WAL mode
            # this matters more than the cost of connecting: when a process closes the last
            # connection to the file, SQLite checkpoints the WAL, fsyncs and deletes it while
            # holding an exclusive lock, and the next writer re-creates it (more fsyncs under
            # the write lock). Closing after every request made that happen many times a second
            # in gunicorn_celery, and one slow fsync stalled every worker.
            "CONN_MAX_AGE": None,
            # Tests use a file too: the in-memory default shares one cache whose table locks
            # ignore the busy timeout, so the task threads' writes would fail in tests only.
            "TEST": {
                "NAME": str(Path(tempfile.gettempdir()) / f"djbench-test-{os.getpid()}.sqlite3")
            },
        }
    }

TASKS = {"default": taskbackends.backend(os.environ.get("DJBENCH_TASKS", "immediate"))}

# The broker djbench started, and no retries (the same in serve.overlay).
globals().update(taskbackends.CELERY)
CELERY_IMPORTS = ("bench.tasks",)

# A fault is injected only when named: djbench's tests use them to check that a broken app
# reads as broken in its numbers.
DJBENCH_FAULTS = frozenset(f for f in os.environ.get("DJBENCH_FAULTS", "").split(",") if f)

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # django.tasks logs every task's start and finish at INFO: noise, and cost, under load.
    "loggers": {"django.tasks": {"level": "WARNING"}},
}
