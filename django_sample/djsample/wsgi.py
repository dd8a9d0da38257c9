"""WSGI entry point of the sample project, as `django-admin startproject` writes it. djbench's
launchers serve it through serve.entry, which adds what every mode needs around it."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsample.settings")

application = get_wsgi_application()
