"""Departments, their statuses, and products: read only (issue 16, item 1)."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Router

from customers.models import Product
from helpdesk.tenancy.models import Department
from helpdesk.tickets.services.access import departments_for
from helpdesk.tickets.services.layouts import statuses_for

from ..base import desk_member, problem_responses
from ..schemas import DepartmentOut, ProductOut, StatusOut

router = Router(tags=["reference"])


@router.get("/departments", response={200: list[DepartmentOut], **problem_responses()})
def departments_list(request: HttpRequest):
    """The departments the member works in (every one for a Desk admin)."""
    membership = desk_member(request)
    return list(departments_for(membership).order_by("name", "pk"))


@router.get(
    "/departments/{int:dept_id}/statuses",
    response={200: list[StatusOut], **problem_responses()},
)
def statuses_list(request: HttpRequest, dept_id: int):
    """The statuses of one of the member's departments, in the layout's order."""
    membership = desk_member(request)
    department: Department | None = departments_for(membership).filter(pk=dept_id).first()
    if department is None:
        raise Http404
    return list(statuses_for(department))


@router.get("/products", response={200: list[ProductOut], **problem_responses()})
def products_list(request: HttpRequest):
    """The organization's product catalogue."""
    membership = desk_member(request)
    return list(Product.objects.for_org(membership.org).order_by("name", "pk"))
