"""Helpers of the visitor-side tests (feedback, blocking, transcripts, files, tracking): a
visitor's browser on another website, the widget's URLs, the department's email settings."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from chat.models import ChatDepartment
from chat.services.departments import email_setting_update

XSS = "<img src=x onerror=alert(1)>"
VISITOR_IP = "192.0.2.7"


def default_department(tenant) -> ChatDepartment:
    return ChatDepartment.objects.for_org(tenant.org).order_by("pk").first()


def visitor_client(ip: str = VISITOR_IP) -> Client:
    """A browser on another website: no session of ours."""
    return Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_ORIGIN="https://shop.example", REMOTE_ADDR=ip)


def widget_url(tenant, name: str, department: ChatDepartment | None = None) -> str:
    department = department or default_department(tenant)
    return reverse(
        f"chat:{name}", kwargs={"portal": tenant.org.portal, "embed_key": department.embed_key}
    )


def visitor_url(tenant, name: str, conversation_id: int, **extra) -> str:
    return reverse(
        f"chat:{name}",
        kwargs={"portal": tenant.org.portal, "chat_conversation_id": conversation_id, **extra},
    )


def console_url(tenant, name: str, conversation_id: int, **extra) -> str:
    return visitor_url(tenant, name, conversation_id, **extra)


def start(client: Client, tenant, **fields) -> dict:
    data = {"name": "Vera Visitor", "email": "vera@shop.example", "message": "Hello", **fields}
    response = client.post(widget_url(tenant, "widget_start"), data)
    assert response.status_code == 201, response.content
    return response.json()


def end(client: Client, tenant, chat: dict) -> None:
    response = client.post(visitor_url(tenant, "visitor_end", chat["id"]), {"token": chat["token"]})
    assert response.status_code == 200, response.content


def email_on(tenant, kind: str, addresses: str, department: ChatDepartment | None = None) -> None:
    tenant.admin.org = tenant.org
    email_setting_update(
        actor=tenant.admin,
        department=department or default_department(tenant),
        kind=kind,
        enabled=True,
        addresses=addresses,
    )
