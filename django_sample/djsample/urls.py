from django.urls import path

from bench import views

urlpatterns = [
    path("hello", views.hello),
    path("db", views.db),
    path("template", views.template),
    path("cpu", views.cpu),
    path("io", views.io),
    path("enqueue", views.enqueue),
    # Under a prefix no application of the user's would use.
    path("_djbench/env", views.env),
    path("_djbench/tasks", views.tasks),
    path("_djbench/broker", views.broker),
]
