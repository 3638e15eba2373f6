"""The API object: authentication by personal token, the rate limit, the problem-details
answers for every refusal, and the OpenAPI schema (issue 16, items 1-3 and 5)."""

from __future__ import annotations

import zoneinfo
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from helpdesk.tenancy.models import App, Membership
from helpdesk.tenancy.permissions import ensure_app

from .problems import PROBLEM_TYPE, field_errors, problem, pydantic_errors
from .ratelimit import rate_limit_hit
from .services import TokenRefused, token_authenticate

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ERROR_STATUSES = (400, 401, 403, 404, 409, 422, 429)


class RateLimited(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__(wait)
        self.wait = wait


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`: the token's member, in the portal's organization.

    The tenant middleware has resolved the portal (`request.portal_org`, inside its
    row-level-security scope; an unknown portal never gets here: 404). The member's role
    applies as on the pages; a read-only token may only read."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        org = getattr(request, "portal_org", None)
        if org is None:
            raise Http404
        try:
            api_token, membership = token_authenticate(org=org, raw=token.strip())
        except TokenRefused as exc:
            raise AuthenticationError(401, str(exc)) from exc
        wait = rate_limit_hit(api_token.pk)
        if wait is not None:
            raise RateLimited(wait)
        if request.method not in READ_METHODS and not api_token.can_write:
            raise PermissionDenied(_("This API token may only read: it has no write scope."))
        request.org = org
        request.membership = membership
        request.user = membership.user
        request.api_token = api_token
        user = membership.user
        if user.language:
            translation.activate(user.language)
        timezone.activate(zoneinfo.ZoneInfo(user.time_zone or org.time_zone))
        return api_token


def authenticated_first(view):
    """Wrap a ninja path view so that a method the path does not take is answered 405 only
    to a valid token of this portal: anyone else gets the 401 or 404 an operation would give
    (ninja answers 405 before authenticating, which would tell an outsider the portal
    exists)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 405:
            return response
        try:
            if BearerToken()(request) is None:
                raise AuthenticationError()
        except Exception as exc:  # mapped like an operation's refusal, or raised again
            return api.on_exception(request, exc)
        return response

    return wrapper


def refuse_unknown(data, known) -> None:
    """Unknown query or form parameters are refused (a 422 naming them), as unknown body
    fields are by the input schemas: a misspelt filter must not silently list everything."""
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValidationError({name: [_("Unknown parameter.")] for name in unknown})


def desk_member(request: HttpRequest) -> Membership:
    """The token's member, who must have the Desk (tickets and customer records)."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    ensure_app(membership, App.DESK)
    return membership


class MadoguchiAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):  # type: ignore[override]
        """Error answers are problem details (`application/problem+json`)."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content")
                    if int(status) >= 400 and content and "application/json" in content:
                        content[PROBLEM_TYPE] = content.pop("application/json")
                    if int(status) == 429:
                        response["headers"] = {
                            "Retry-After": {
                                "description": "Seconds to wait.",
                                "schema": {"type": "integer"},
                            }
                        }
        return schema


api = MadoguchiAPI(
    title="Madoguchi API",
    version="1",
    description=(
        "The helpdesk's REST API. Authenticate with a personal API token from your profile: "
        "`Authorization: Bearer <token>`. Errors are RFC 9457 problem details."
    ),
    auth=BearerToken(),
    openapi_url=None,  # served by api.views (the portal's path, members only)
    docs_url=None,
    urls_namespace="api",
)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(404)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(403, str(exc) or _("You are not allowed to do that."))


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = field_errors(exc)
    first = next(iter(errors.values()), [""])[0]
    return problem(422, first, errors)


@api.exception_handler(NinjaValidationError)
def _invalid_schema(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = pydantic_errors(exc.errors)
    first = next(iter(errors.items()), ("", [""]))
    return problem(422, f"{first[0]}: {first[1][0]}" if first[0] else first[1][0], errors)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    if status == 401:
        detail = exc.message if exc.message != "Unauthorized" else ""
        return problem(
            401,
            detail or _("Send a personal API token: Authorization: Bearer <token>."),
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if status == 400:  # ninja could not parse the body
        return problem(
            400, _("The request body could not be read: %(reason)s") % {"reason": exc.message}
        )
    return problem(status, exc.message)


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    return problem(
        429,
        _("Too many requests with this token; try again in %(seconds)d seconds.")
        % {"seconds": exc.wait},
        headers={"Retry-After": str(exc.wait)},
    )


@api.exception_handler(IntegrityError)
def _conflict(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    return problem(409, _("The change conflicts with the current state; read it and retry."))


def problem_responses(*statuses: int) -> dict[int, Any]:
    from .schemas import Problem

    return {s: Problem for s in (statuses or ERROR_STATUSES)}
