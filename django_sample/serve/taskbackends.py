"""The django.tasks backend of each mode, by the name djbench passes in DJBENCH_TASKS, and the
Celery settings of gunicorn_celery. Plain data, no Django import: settings modules (the
sample's and serve.overlay) read it. It chooses backends and delivery settings; running task
workers is the launchers' business."""

import os


def backend(name):
    """TASKS["default"] for DJBENCH_TASKS=`name`: immediate, celery, interpreters, threads or
    database (django-tasks-db: tasks are rows in the app's own database, so queued tasks
    survive a killed process; its app must be in INSTALLED_APPS and migrated)."""
    return {
        "immediate": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
        "celery": {
            "BACKEND": "django_tasks_celery.CeleryBackend",
            "OPTIONS": {"CELERY_APP": "djsample.celery.app"},
        },
        "interpreters": {"BACKEND": "bench.backends.interpreters.InterpreterQueueBackend"},
        "threads": {
            "BACKEND": "bench.backends.threads.ThreadPoolBackend",
            "OPTIONS": {"THREADS": int(os.environ.get("DJBENCH_TASK_THREADS", "2"))},
        },
        "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    }[name]


# The INSTALLED_APPS entry the database backend needs (its app label is
# django_tasks_database: `manage.py migrate django_tasks_database`).
DATABASE_APP = "django_tasks_db"


def _celery():
    """What Celery needs in either settings module: the broker djbench started, no retries,
    and the delivery guarantees a scenario asked for."""
    # Default: acks early, Celery's own default. A task is acknowledged when a worker takes
    # it, so a worker killed mid-task loses it, and the task records show it as lost.
    # DJBENCH_CELERY_ACKS_LATE=1: acknowledged after it ran, and put back on the queue when the
    # child running it dies (reject_on_worker_lost), so it runs again: at least once.
    acks_late = os.environ.get("DJBENCH_CELERY_ACKS_LATE", "") == "1"
    celery = {
        "CELERY_BROKER_URL": os.environ.get("DJBENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "CELERY_TASK_IGNORE_RESULT": True,
        "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,
        "CELERY_TASK_ACKS_LATE": acks_late,
        "CELERY_TASK_REJECT_ON_WORKER_LOST": acks_late,
    }
    # With redis, a message taken but never acknowledged (its whole worker killed) comes back
    # only after the visibility timeout, Celery's default one hour: a fault scenario shortens it.
    timeout = os.environ.get("DJBENCH_VISIBILITY_TIMEOUT", "")
    if timeout:
        try:
            seconds = float(timeout)
        except ValueError:
            raise ValueError(
                f"DJBENCH_VISIBILITY_TIMEOUT must be a number of seconds, not {timeout!r}"
            ) from None
        celery["CELERY_BROKER_TRANSPORT_OPTIONS"] = {"visibility_timeout": seconds}
    return celery


CELERY = _celery()
