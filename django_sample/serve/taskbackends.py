"""The django.tasks backend of each mode, by the name djbench passes in DJBENCH_TASKS. Plain
data, no Django import: settings modules (the sample's and serve.overlay) read it."""

import os


def backend(name):
    """TASKS["default"] for DJBENCH_TASKS=`name`: immediate, celery, interpreters or threads."""
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
    }[name]


# What Celery needs in either settings module: the broker djbench started, and no retries.
CELERY = {
    "CELERY_BROKER_URL": os.environ.get("DJBENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "CELERY_TASK_IGNORE_RESULT": True,
    "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,
    # Tasks record their own start and finish; a lost task must stay lost, not be retried.
    "CELERY_TASK_ACKS_LATE": False,
}
