from django.apps import AppConfig


class HerokuAutoscaleConfig(AppConfig):
    name = "heroku_autoscale"
    label = "heroku_autoscale"
    verbose_name = "Heroku autoscale heartbeat (Slipway)"
