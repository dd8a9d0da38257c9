"""What djbench needs to know of a user's project before deploying it, printed as one line of
JSON: the task backend its own settings name, and whether its code uses django.tasks (then,
with one of Django's built-in backends, djbench swaps in each mode's backend and starts task
workers; otherwise the run is web only). It reads the settings module without setting Django
up, so no app code runs.

    DJBENCH_PROJECT_SETTINGS=config.settings python serve/appinfo.py PROJECT_DIR
"""

import json
import os
import sys
from importlib import import_module
from pathlib import Path

# Django's built-in backends run a task inside enqueue() (immediate) or never (dummy).
IMMEDIATE = "django.tasks.backends.immediate.ImmediateBackend"
BUILT_IN = {IMMEDIATE, "django.tasks.backends.dummy.DummyBackend"}
# Folders that are not the project's own code.
SKIP = {".venv", "venv", ".git", "node_modules", "site-packages", "__pycache__", ".tox"}


def uses_tasks(root):
    """Whether any module of the project imports django.tasks (its @task decorator)."""
    for path in root.rglob("*.py"):
        if SKIP.intersection(path.relative_to(root).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "django.tasks" in text:
            return True
    return False


def main():
    root = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(root))
    settings = import_module(os.environ["DJBENCH_PROJECT_SETTINGS"])
    tasks = getattr(settings, "TASKS", None) or {}
    # Django's default when TASKS is not set.
    backend = tasks.get("default", {}).get("BACKEND", IMMEDIATE)
    print(json.dumps({
        "tasks_backend": backend,
        "built_in_backend": backend in BUILT_IN,
        "uses_tasks": uses_tasks(root),
        "wsgi_application": getattr(settings, "WSGI_APPLICATION", None),
    }))


if __name__ == "__main__":
    main()
