from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo organization (`manage.py demo_data`). It sits at the top of the layers (README,
    Architecture): it creates records of every app through their services."""

    name = "helpdesk.demo"
    label = "demo"
