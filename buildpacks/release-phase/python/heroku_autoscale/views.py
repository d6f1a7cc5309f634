"""The heartbeat: touches what an app hits as it scales (the cache, the
database, the disk), as django-heroku-autoscale's default view does, and says
how long that took inside the dyno.

The autoscaler times the whole request; the difference from the time reported
here is the time the request waited (in the router and for a free worker).
That is what web's utilization is read from: ``X-Slipway-Service-Ms`` and the
JSON body's ``service_ms``. ``queue_ms`` is the router's share, from
``X-Request-Start`` (milliseconds since the epoch, set by Heroku's router).
"""

import os
import tempfile
import time

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse


def _router_queue_ms(request, now_ms):
    start = request.META.get("HTTP_X_REQUEST_START", "")
    try:
        started = float(start.lstrip("t="))
    except ValueError:
        return None
    # Seconds or microseconds from some proxies: keep milliseconds.
    if started < 1e11:
        started *= 1000.0
    elif started > 1e14:
        started /= 1000.0
    return max(0.0, round(now_ms - started, 3))


def heartbeat(request):
    received_ms = time.time() * 1000.0
    started = time.perf_counter()
    checks = {}

    cache.set("heroku-autoscale-heartbeat", received_ms, 30)
    checks["cache"] = cache.get("heroku-autoscale-heartbeat") is not None

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        checks["database"] = cursor.fetchone()[0] == 1

    with tempfile.TemporaryFile() as f:
        f.write(b"heroku-autoscale heartbeat")
        f.seek(0)
        checks["disk"] = f.read() == b"heroku-autoscale heartbeat"

    service_ms = round((time.perf_counter() - started) * 1000.0, 3)
    body = {
        "status": "ok" if all(checks.values()) else "degraded",
        "checks": checks,
        "service_ms": service_ms,
        "queue_ms": _router_queue_ms(request, received_ms),
        "dyno": os.environ.get("DYNO", ""),
    }
    response = JsonResponse(body, status=200 if body["status"] == "ok" else 503)
    response["X-Slipway-Service-Ms"] = str(service_ms)
    response["Cache-Control"] = "no-store"
    return response
