"""The publish time on every Celery task the app sends: the autoscaler reads
the oldest waiting job's (on a Redis broker) and grows a worker type whose
jobs wait longer than its max wait (``AUTOSCALE_WORKER_MAX_WAIT_SECONDS``).

Connected by ``HerokuAutoscaleConfig.ready`` when Celery is installed; no
Django import here, so a Celery app without Django can connect it too::

    from heroku_autoscale.stamp import connect
    connect()
"""

import time

HEADER = "slipway_published_at"


def stamp_publish_time(sender=None, headers=None, **kwargs):
    """Celery's ``before_task_publish``: ``headers`` is the message's own
    dict, published after this returns. A stamp already there is kept."""
    if headers is not None and HEADER not in headers:
        headers[HEADER] = time.time()


def connect():
    """Stamp every task published from this process; False without Celery."""
    try:
        from celery.signals import before_task_publish
    except ImportError:
        return False
    before_task_publish.connect(stamp_publish_time, weak=False, dispatch_uid=HEADER)
    return True
