from django.apps import AppConfig


class HerokuAutoscaleConfig(AppConfig):
    name = "heroku_autoscale"
    label = "heroku_autoscale"
    verbose_name = "Heroku autoscale heartbeat (Slipway)"

    def ready(self):
        # Every Celery task this app publishes carries its publish time: the
        # autoscaler's age signal (heroku_autoscale/stamp.py).
        from .stamp import connect

        connect()
