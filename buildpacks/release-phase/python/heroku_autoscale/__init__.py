"""The autoscaler's heartbeat endpoint, shipped by slipway/release-phase.

A drop-in for django-heroku-autoscale's app: the same app label
(``heroku_autoscale``) and URL (``/heroku-autoscale/heartbeat/v1``), so an
app that had ``INSTALLED_APPS += ("heroku_autoscale",)`` and
``path("", include("heroku_autoscale.urls"))`` switches without code changes.
The buildpack puts this package on the app's PYTHONPATH.
"""
