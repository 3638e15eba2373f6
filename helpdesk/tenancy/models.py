"""Organizations (tenants), users, memberships and roles, departments, business hours.

Every tenant-owned model derives from `TenantModel`: it carries `org`, and its manager reads
through `for_org(org)`. The system check in `checks.py` keeps `org` in every unique
constraint and at the head of every index.
"""

from __future__ import annotations

import secrets
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .fields import MemberForeignKey, TenantForeignKey

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz]


# --- Users -----------------------------------------------------------------------------------
class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)  # None gives an unusable password (invited users)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. People are global; what they may do lives on their memberships."""

    class Language(models.TextChoices):
        JA = "ja", "日本語"
        EN = "en", "English"

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"), max_length=5, choices=Language.choices, default=Language.JA
    )
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


# --- Organizations ---------------------------------------------------------------------------
portal_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{1,28}[a-z0-9])$",
    _(
        "Use 3 to 30 lowercase letters, digits or hyphens, starting and ending with a letter "
        "or digit."
    ),
)


def validate_portal_not_reserved(value: str) -> None:
    if value in settings.RESERVED_PORTALS:
        raise ValidationError(
            _("“%(name)s” is reserved. Choose another portal name."),
            params={"name": value},
            code="reserved",
        )


class Plan(models.TextChoices):
    TRIAL = "trial", _("Trial")
    PROFESSIONAL = "professional", _("Professional")
    ENTERPRISE = "enterprise", _("Enterprise")


_BLUEPRINTS_NONE: dict[str, int | None] = {
    "blueprints_per_department": 0,
    "blueprint_transitions": 0,
    "blueprint_common_transitions": 0,
    "blueprint_during_fields": 0,
    "blueprint_webhooks": 0,
}
PLAN_LIMITS: dict[str, dict[str, int | None]] = {
    # None means "no limit". Blueprints (BP-20): 0 active blueprints means the plan has none;
    # "blueprint_webhooks" 1 allows the custom-function after-action (enterprise only).
    Plan.TRIAL: {"users": 10, **_BLUEPRINTS_NONE},
    Plan.PROFESSIONAL: {
        "users": None,
        "blueprints_per_department": 1,
        "blueprint_transitions": 20,
        "blueprint_common_transitions": 1,
        "blueprint_during_fields": 10,
        "blueprint_webhooks": 0,
    },
    Plan.ENTERPRISE: {
        "users": None,
        "blueprints_per_department": 20,
        "blueprint_transitions": 100,
        "blueprint_common_transitions": 5,
        "blueprint_during_fields": 30,
        "blueprint_webhooks": 1,
    },
}


class Organization(models.Model):
    """A tenant ("portal"). Its id never changes; a renamed portal keeps an alias."""

    name = models.CharField(_("organization name"), max_length=120)
    portal = models.CharField(
        _("portal name"),
        max_length=30,
        unique=True,
        validators=[portal_validator, validate_portal_not_reserved],
        help_text=_("Your desk's address: /<portal>/"),
    )
    plan = models.CharField(_("plan"), max_length=20, choices=Plan.choices, default=Plan.TRIAL)
    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default="Asia/Tokyo"
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    website = models.URLField(_("website"), blank=True)
    address = models.TextField(_("address"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organization")

    def __str__(self) -> str:
        return self.name

    def limit(self, key: str) -> int | None:
        return PLAN_LIMITS[self.plan][key]


class PortalAlias(models.Model):
    """An old portal name that keeps redirecting after the portal URL changed."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=30, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class TenantQuerySet(models.QuerySet):
    def for_org(self, org: Organization) -> TenantQuerySet:
        return self.filter(org=org)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """No automatic filtering: callers say which organization they read (STYLE.md)."""


class TenantModel(models.Model):
    """Base of every tenant-owned model."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    # In the database the primary key is (org_id, id) (keys.py; helpdesk/postgres groups by it).
    composite_primary_key = True

    class Meta:
        abstract = True


# --- Memberships and roles (ORG-03, ORG-04, ORG-05) ------------------------------------------
class App(models.TextChoices):
    DESK = "desk", _("Desk")
    CRM = "crm", _("CRM")
    CHAT = "chat", _("Chat")


class DeskRole(models.TextChoices):
    ADMIN = "admin", _("Admin")
    AGENT = "agent", _("Agent")
    RESTRICTED = "restricted", _("Restricted agent")


class CrmRole(models.TextChoices):
    ADMIN = "admin", _("CRM admin")
    SALES = "sales", _("Sales user")


class ChatRole(models.TextChoices):
    SUPERVISOR = "supervisor", _("Supervisor")
    OPERATOR = "operator", pgettext_lazy("chat role", "Operator")


class AdminLevel(models.TextChoices):
    NONE = "", _("None")
    APP = "app", _("App admin")
    SUITE = "suite", _("Suite admin")
    ACCOUNT = "account", _("Account admin")


ROLE_CHOICES = {App.DESK: DeskRole, App.CRM: CrmRole, App.CHAT: ChatRole}
# The app role that administers the app's own settings (ORG-04); Chat has none.
APP_ADMIN_ROLES = {App.DESK: DeskRole.ADMIN, App.CRM: CrmRole.ADMIN}
DEFAULT_ROLES = {App.DESK: DeskRole.AGENT, App.CRM: CrmRole.SALES, App.CHAT: ChatRole.OPERATOR}


class Membership(TenantModel):
    """A user in an organization: status, admin level and a role per app (blank = no access)."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACTIVE = "active", _("Active")
        DEACTIVATED = "deactivated", _("Deactivated")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    admin_level = models.CharField(
        _("admin level"),
        max_length=10,
        choices=AdminLevel.choices,
        default=AdminLevel.NONE,
        blank=True,
    )
    admin_app = models.CharField(
        _("administered app"), max_length=10, choices=App.choices, blank=True
    )
    desk_role = models.CharField(
        _("Desk role"), max_length=20, choices=DeskRole.choices, blank=True
    )
    crm_role = models.CharField(_("CRM role"), max_length=20, choices=CrmRole.choices, blank=True)
    chat_role = models.CharField(
        _("Chat role"), max_length=20, choices=ChatRole.choices, blank=True
    )
    # The member's manager: supervisors in the reports (RPT-01), "the owner's manager" in SLA
    # escalations (BP-15). Same organization (a composite key), never a loop (the service).
    reports_to = TenantForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("reports to"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # My profile (issue 8): per organization, since one person may sign for several.
    signature = models.TextField(
        _("signature"),
        blank=True,
        max_length=2000,
        help_text=_("Added to your replies in this organization, before the department's."),
    )
    # Mail events this member turned off (`notifications.MailEvent` values); new events are on.
    muted_mail_events = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "user"], name="membership_org_user_uniq"),
            # Exactly one account admin per organization.
            models.UniqueConstraint(
                fields=["org"],
                condition=models.Q(admin_level="account"),
                name="membership_one_account_admin",
            ),
        ]
        indexes = [models.Index(fields=["org", "status"], name="membership_org_status")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.org_id}"

    def role(self, app: str) -> str:
        return getattr(self, f"{app}_role")

    def has_app(self, app: str) -> bool:
        """Active, with a role in `app`; the account admin always reaches every app (ORG-05)."""
        return self.is_active and (bool(self.role(app)) or self.is_account_admin)

    @property
    def apps(self) -> list[str]:
        return [app for app in App.values if self.has_app(app)]

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_account_admin(self) -> bool:
        return self.admin_level == AdminLevel.ACCOUNT

    @property
    def is_suite_admin(self) -> bool:
        """Suite admins manage every app and user; the account admin is one too."""
        return self.admin_level in (AdminLevel.SUITE, AdminLevel.ACCOUNT)

    def is_app_admin(self, app: str) -> bool:
        """Administers `app`'s settings: by admin level (ORG-05: `MANAGE_APP_SETTINGS` in
        `permissions.ADMIN_LEVEL_POWERS`, which a test keeps equal to this) or by the app's
        admin role (ORG-04). Deciding who may use the app is an admin-level power only
        (`permissions.can_manage_roles`)."""
        if self.is_active and (
            self.is_suite_admin or (self.admin_level == AdminLevel.APP and self.admin_app == app)
        ):
            return True
        admin_role = APP_ADMIN_ROLES.get(app)
        return admin_role is not None and self.role(app) == admin_role

    @property
    def is_any_admin(self) -> bool:
        return self.is_suite_admin or any(self.is_app_admin(a) for a in App.values)


def _new_nonce() -> str:
    return secrets.token_urlsafe(16)


def _invitation_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)


class Invitation(TenantModel):
    """A one-time link to join an organization. The link is signed with SECRET_KEY over
    (id, nonce); re-inviting rotates the nonce, so only the latest link works."""

    membership = TenantForeignKey(Membership, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    nonce = models.CharField(max_length=32, default=_new_nonce)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["org", "membership"], name="invitation_org_membership")]

    def __str__(self) -> str:
        return f"Invitation of {self.email}"

    @property
    def is_expired(self) -> bool:
        return self.accepted_at is None and self.expires_at <= timezone.now()


# --- Departments, teams, business hours (DEP-01, DEP-03) -------------------------------------
class Department(TenantModel):
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True, max_length=1000)
    email = models.EmailField(
        _("support email address"),
        blank=True,
        help_text=_("Replies to customers are sent from this address."),
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default="Asia/Tokyo"
    )
    signature = models.TextField(
        _("signature"),
        blank=True,
        max_length=2000,
        help_text=_("Added to every reply sent from this department, after the agent's own."),
    )
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="DepartmentAgent", related_name="departments", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("org", Lower("name"), name="department_org_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class DepartmentAgent(TenantModel):
    department = TenantForeignKey(Department, on_delete=models.CASCADE)
    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "department", "user"], name="department_agent_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.department_id}"


class Team(TenantModel):
    department = TenantForeignKey(Department, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=255, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMember", related_name="teams", blank=True
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("org", "department", Lower("name"), name="team_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(TenantModel):
    team = TenantForeignKey(Team, on_delete=models.CASCADE)
    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "team", "user"], name="team_member_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in team {self.team_id}"


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BusinessInterval(TenantModel):
    """One working interval of a department's weekly schedule, in the department's time zone.
    A day may have several; a department without any works around the clock."""

    department = TenantForeignKey(
        Department, on_delete=models.CASCADE, related_name="business_intervals"
    )
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("to"))

    class Meta:
        ordering = ["weekday", "start"]
        indexes = [
            models.Index(fields=["org", "department", "weekday"], name="business_interval_lookup")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")),
                name="business_interval_start_before_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class Holiday(TenantModel):
    department = TenantForeignKey(Department, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["org", "department", "date"], name="holiday_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"
