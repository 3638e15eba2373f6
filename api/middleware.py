"""Problem details for every answer under `/<portal>/api/v1/` (issue 16, item 3).

The API's own refusals are problem details already (api/base.py). This middleware gives the
same shape to what Django or ninja answer before the API runs: the 404 of an unknown portal
(the tenant middleware's), a 405 for a method a path does not take. A request without
credentials is a 401 before the portal is even looked up, so the answer is the same whether
or not the portal exists (ORG-01: an outsider learns nothing)."""

from __future__ import annotations

import re

from django.http import HttpRequest
from django.utils.translation import gettext as _

from .problems import PROBLEM_TYPE, problem

API_PATH = re.compile(r"^/[^/]+/api/v1/")
# Pages for signed-in members, not API operations: the reference and its schema.
PAGES = re.compile(r"^/[^/]+/api/v1/(docs/|openapi\.json)$")


def is_api_path(path: str) -> bool:
    return bool(API_PATH.match(path)) and not PAGES.match(path)


class ApiProblemMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not is_api_path(request.path_info):
            return self.get_response(request)
        if not request.headers.get("Authorization", "").strip():
            return problem(
                401,
                _("Send a personal API token: Authorization: Bearer <token>."),
                headers={"WWW-Authenticate": 'Bearer realm="api"'},
            )
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
            PROBLEM_TYPE
        ):
            answer = problem(response.status_code)
            for header in ("Allow", "Retry-After"):
                if header in response:
                    answer[header] = response[header]
            return answer
        return response
