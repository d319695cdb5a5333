from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = "Business transfers"

    def ready(self):
        from sharing.announcements import received_page_announcer_register

        from .views import received_page_announcements

        received_page_announcer_register(received_page_announcements)
