from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "chat"
    label = "chat"
    verbose_name = _("Chat")

    def ready(self) -> None:
        # CHAT-01: sign-up makes a default chat department (tenancy never imports us).
        from helpdesk.tenancy.services.organizations import organization_created_listen

        from .services.departments import default_department_on_signup

        organization_created_listen(default_department_on_signup)

        # CHAT-04: the transcript mail when a chat ends.
        from .services.conversations import conversation_ended_listen
        from .services.transcripts import on_chat_ended

        conversation_ended_listen(on_chat_ended)
