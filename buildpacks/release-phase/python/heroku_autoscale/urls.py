from django.urls import path

from . import views

app_name = "heroku_autoscale"

urlpatterns = [
    path("heroku-autoscale/heartbeat/v1", views.heartbeat, name="heartbeat"),
]
