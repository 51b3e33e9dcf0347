from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Live updates"
    default_auto_field = "django.db.models.BigAutoField"
