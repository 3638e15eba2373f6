"""Reading the CRM (CRM-01): lists with search, filters and sorting; the CRM's users.

Sorting takes a whitelisted key (`-` for descending) and always ends with the primary key, so
pages never repeat or skip a row.

**Search** matches a text anywhere in the listed columns, regardless of case. Contacts and
accounts keep their searched columns lowered in one generated column, `search_text`
(crmsync.models), matched as `search_text LIKE lower('%text%')` (`search_text_contains`):
one LIKE a row where an ILIKE per column lowered both sides on every row it tested. Deals and
products match their columns as `column ILIKE '%text%'` (`contains`). Both operators are
served by trigram indexes (crmsync migrations 0004 and 0005 make them where PostgreSQL has
pg_trgm) and marked LEAKPROOF by the `rls` sync, so that PostgreSQL may use those indexes
under row-level security; Django's `icontains` (`UPPER(column) LIKE UPPER(...)`) could use
neither. A contact's account name is matched through the ids of the matching accounts
(`account_id = ANY(ARRAY(...))`), which PostgreSQL combines with the other condition's index
scan where a join inside the OR would scan every contact."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower

from helpdesk.compiledreads import CompiledRead
from helpdesk.lookups import AnyOf, Infix
from helpdesk.tenancy.models import AdminLevel, Membership, Organization, User

from .models import (
    CLOSED_STAGES,
    PIPELINE,
    SEARCH_SEPARATOR,
    CrmAccount,
    CrmContact,
    CrmProduct,
    CrmSettings,
    Deal,
    Integration,
    Stage,
)


def crm_users(org: Organization) -> QuerySet[User]:
    """People with CRM access in `org` (active, a CRM role or the account admin)."""
    members = Membership.objects.for_org(org).filter(
        Q(status=Membership.Status.ACTIVE) & (~Q(crm_role="") | Q(admin_level=AdminLevel.ACCOUNT))
    )
    return User.objects.filter(pk__in=members.values("user_id"))


def crm_members(org: Organization | int) -> QuerySet[Membership]:
    return (
        Membership.objects.for_org(org)
        .filter(
            Q(status=Membership.Status.ACTIVE)
            & (~Q(crm_role="") | Q(admin_level=AdminLevel.ACCOUNT))
        )
        .select_related("user")
        .order_by("user__full_name", "user__email", "pk")
    )


# The lists' owner filter reads the members on every page: its SQL is compiled once per
# process (compiling it cost more than the rest of the filter form, bench/crm_pages.py).
_MEMBERS_READ = CompiledRead(lambda org_id: crm_members(org_id))


def crm_member_list(org: Organization) -> list[Membership]:
    """`crm_members(org)` as a list, read with SQL compiled once."""
    return _MEMBERS_READ.all(org_id=org.pk)


# Every CRM page reads both (crmsync.per_request): their SQL is compiled once per process.
_SETTINGS_READ = CompiledRead(lambda org_id: CrmSettings.objects.for_org(org_id).order_by("pk"))
_INTEGRATION_READ = CompiledRead(
    lambda org_id: (
        Integration.objects.for_org(org_id)
        .select_related("desk_org", "authorised_by")
        .order_by("pk")
    )
)


def crm_settings(org: Organization) -> CrmSettings:
    """The CRM's settings (defaults until an admin saves them; never written by a read)."""
    return _SETTINGS_READ(org_id=org.pk) or CrmSettings(org=org)


def integration_of(org: Organization) -> Integration | None:
    integration = _INTEGRATION_READ(org_id=org.pk)
    if integration is not None:
        integration.org = org  # its own organization, read already: no query for it later
    return integration


# --- Search --------------------------------------------------------------------------------
class _ILike(Infix):
    lookup_name = "crm_ilike"
    template = "{lhs} ILIKE {rhs}"


class _LikeLowered(Infix):
    """lhs already lowered (a `search_text` column)."""

    lookup_name = "crm_like_lowered"
    template = "{lhs} LIKE lower({rhs})"


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's wildcards and escape character in `text` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(columns: tuple[str, ...], text: str) -> Q:
    """Any of `columns` contains `text`, regardless of case (see the module's docstring)."""
    pattern = Value(like_pattern(text), output_field=CharField())
    condition = Q()
    for column in columns:
        condition |= Q(_ILike(F(column), pattern))
    return condition


def search_text_contains(text: str) -> Q:
    """The record's `search_text` contains `text`, regardless of case: as `contains` over the
    model's searched columns (`ACCOUNT_SEARCH`, `CONTACT_SEARCH`) would match, with one LIKE
    a row. The columns' separator is taken out of `text`, so no match spans two columns."""
    pattern = like_pattern(text.replace(SEARCH_SEPARATOR, ""))
    return Q(_LikeLowered(F("search_text"), Value(pattern, output_field=CharField())))


DEAL_SEARCH = ("name",)
PRODUCT_SEARCH = ("name", "code")


def _account_named(org: Organization, text: str, field: str = "account_id") -> Q:
    """Rows whose account's name contains `text`: `field = ANY(ARRAY(ids of those accounts))`."""
    ids = CrmAccount.objects.for_org(org).filter(contains(("name",), text)).values("pk")
    return Q(AnyOf(F(field), ArraySubquery(ids)))


# --- Lists ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sorting:
    """Whitelisted sort keys: key -> the columns it orders by (ascending)."""

    columns: dict[str, tuple]
    default: str

    def apply(self, rows: QuerySet, key: str) -> tuple[QuerySet, str]:
        bare = key.removeprefix("-")
        if bare not in self.columns:
            key, bare = self.default, self.default.removeprefix("-")
        descending = key.startswith("-")
        order = []
        for column in self.columns[bare]:
            order.append(_direction(column, descending))
        order.append("-pk" if descending else "pk")
        return rows.order_by(*order), key


def _direction(column, descending: bool):
    expr = F(column) if isinstance(column, str) else column
    return expr.desc(nulls_last=True) if descending else expr.asc(nulls_last=True)


def _owner_filter(rows: QuerySet, owner: str, user: User) -> QuerySet:
    """ "mine", "none", a user id, or "" (everyone)."""
    if owner == "mine":
        return rows.filter(owner=user)
    if owner == "none":
        return rows.filter(owner=None)
    if owner.isdigit():
        return rows.filter(owner_id=int(owner))
    return rows


ACCOUNT_SORTS = Sorting(
    {
        "name": (Lower("name"),),
        "type": ("type", Lower("name")),
        "owner": (Lower("owner__full_name"), Lower("owner__email")),
        "created": ("created_at",),
        "updated": ("updated_at",),
    },
    "name",
)


def accounts_search(
    org: Organization,
    *,
    user: User,
    query: str = "",
    owner: str = "",
    type: str = "",
    sort: str = "name",
) -> tuple[QuerySet[CrmAccount], str]:
    rows = CrmAccount.objects.for_org(org).select_related("owner")
    if query:
        rows = rows.filter(search_text_contains(query))
    rows = _owner_filter(rows, owner, user)
    if type in CrmAccount.Type.values:
        rows = rows.filter(type=type)
    # A correlated count, computed for the rows of the page only (PostgreSQL evaluates it
    # after the sort and limit), where a join and GROUP BY counted every account's deals.
    open_deals = (
        Deal.objects.for_org(org)
        .filter(account_id=OuterRef("pk"))
        .exclude(stage__in=CLOSED_STAGES)
        .order_by()
        .values("account_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = rows.annotate(open_deals=Coalesce(Subquery(open_deals), 0))
    return ACCOUNT_SORTS.apply(rows, sort)


CONTACT_SORTS = Sorting(
    {
        "name": (Lower("last_name"), Lower("first_name")),
        "email": (Lower("email"),),
        "account": (Lower("account__name"), Lower("last_name")),
        "owner": (Lower("owner__full_name"), Lower("owner__email")),
        "created": ("created_at",),
    },
    "name",
)


def contacts_search(
    org: Organization,
    *,
    user: User,
    query: str = "",
    owner: str = "",
    account: CrmAccount | None = None,
    sort: str = "name",
) -> tuple[QuerySet[CrmContact], str]:
    rows = CrmContact.objects.for_org(org).select_related("account", "owner")
    if query:
        rows = rows.filter(search_text_contains(query) | _account_named(org, query))
    rows = _owner_filter(rows, owner, user)
    if account is not None:
        rows = rows.filter(account=account)
    return CONTACT_SORTS.apply(rows, sort)


STAGE_ORDER = Case(
    *[When(stage=stage, then=Value(i)) for i, stage in enumerate(PIPELINE)],
    output_field=IntegerField(),
)
DEAL_SORTS = Sorting(
    {
        "name": (Lower("name"),),
        "stage": (STAGE_ORDER, Lower("name")),
        "amount": ("amount",),
        "close": ("expected_close",),
        "account": (Lower("account__name"), Lower("name")),
        "owner": (Lower("owner__full_name"), Lower("owner__email")),
        "created": ("created_at",),
    },
    "close",
)


def deals_search(
    org: Organization,
    *,
    user: User,
    query: str = "",
    owner: str = "",
    stage: str = "",
    account: CrmAccount | None = None,
    contact: CrmContact | None = None,
    sort: str = "close",
) -> tuple[QuerySet[Deal], str]:
    """`stage` is a stage, "open" (not closed) or "closed"."""
    rows = Deal.objects.for_org(org).select_related("account", "owner")
    if query:
        rows = rows.filter(contains(DEAL_SEARCH, query) | _account_named(org, query))
    rows = _owner_filter(rows, owner, user)
    if stage == "open":
        rows = rows.exclude(stage__in=("won", "lost"))
    elif stage == "closed":
        rows = rows.filter(stage__in=("won", "lost"))
    elif stage in PIPELINE:
        rows = rows.filter(stage=stage)
    if account is not None:
        rows = rows.filter(account=account)
    if contact is not None:
        rows = rows.filter(dealcontact__contact=contact)
    return DEAL_SORTS.apply(rows, sort)


PRODUCT_SORTS = Sorting(
    {
        "name": (Lower("name"),),
        "code": (Lower("code"),),
        "price": ("unit_price",),
        "created": ("created_at",),
    },
    "name",
)


def products_search(
    org: Organization, *, query: str = "", active: str = "", sort: str = "name"
) -> tuple[QuerySet[CrmProduct], str]:
    rows = CrmProduct.objects.for_org(org)
    if query:
        rows = rows.filter(contains(PRODUCT_SEARCH, query))
    if active == "yes":
        rows = rows.filter(is_active=True)
    elif active == "no":
        rows = rows.filter(is_active=False)
    return PRODUCT_SORTS.apply(rows, sort)


def pipeline_summary(org: Organization) -> list[dict]:
    """Deals per stage with their total amount, in pipeline order (the CRM home)."""
    totals = {
        row["stage"]: row
        for row in Deal.objects.for_org(org)
        .values("stage")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by()
    }
    return [
        {
            "stage": stage,
            "label": Stage(stage).label,
            "count": totals.get(stage, {}).get("count", 0),
            "total": totals.get(stage, {}).get("total") or 0,
        }
        for stage in PIPELINE
    ]
