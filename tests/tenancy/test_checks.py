"""ORG-01: the system check keeps org in every unique constraint and leading every index."""

from __future__ import annotations

from django.core import checks
from django.db import models
from django.test.utils import isolate_apps

from helpdesk.tenancy.checks import check_tenant_models, tenant_model_errors
from helpdesk.tenancy.models import TenantModel


def test_org01_project_models_pass_the_tenancy_check():
    assert check_tenant_models() == []


def test_org01_system_check_is_registered():
    ids = {e.id for e in checks.run_checks(tags=[checks.Tags.models])}
    assert not any(i.startswith("tenancy.") for i in ids)


def test_org01_system_check_reports_a_bad_tenant_model():
    """The model checks that `manage.py check` runs refuse a tenant model whose unique field
    leaves org out. (Only our registered model checks run on the isolated app: Django's own
    would look for the user model in it.)"""
    model_checks = [
        c
        for c in checks.registry.registry.get_checks()
        if c.__module__ == "helpdesk.tenancy.checks" and checks.Tags.models in c.tags
    ]
    assert model_checks == [check_tenant_models]
    with isolate_apps("helpdesk.tenancy") as isolated:

        class Coupon(TenantModel):
            code = models.CharField(max_length=10, unique=True)

            class Meta:
                app_label = "tenancy"

        app_configs = [isolated.get_app_config("tenancy")]
        errors = [e for check in model_checks for e in check(app_configs=app_configs)]
    assert [(e.id, e.obj) for e in errors if e.id.startswith("tenancy.")] == [
        ("tenancy.E001", Coupon)
    ]


@isolate_apps("helpdesk.tenancy")
def test_org01_check_fails_on_unique_field_without_org():
    class Widget(TenantModel):
        code = models.CharField(max_length=10, unique=True)

        class Meta:
            app_label = "tenancy"

    assert [e.id for e in tenant_model_errors(Widget)] == ["tenancy.E001"]


@isolate_apps("helpdesk.tenancy")
def test_org01_check_fails_on_unique_constraint_or_together_without_org():
    class Gadget(TenantModel):
        code = models.CharField(max_length=10)
        kind = models.CharField(max_length=10)

        class Meta:
            app_label = "tenancy"
            unique_together = [("code", "kind")]
            constraints = [models.UniqueConstraint(fields=["code"], name="gadget_code")]

    assert [e.id for e in tenant_model_errors(Gadget)] == ["tenancy.E001", "tenancy.E001"]


@isolate_apps("helpdesk.tenancy")
def test_org01_check_fails_on_index_not_led_by_org():
    class Gizmo(TenantModel):
        code = models.CharField(max_length=10, db_index=True)
        kind = models.CharField(max_length=10)

        class Meta:
            app_label = "tenancy"
            indexes = [models.Index(fields=["kind", "org"], name="gizmo_kind")]

    assert sorted(e.id for e in tenant_model_errors(Gizmo)) == ["tenancy.E002", "tenancy.E003"]


@isolate_apps("helpdesk.tenancy")
def test_org01_check_accepts_org_led_indexes_and_constraints():
    class Thing(TenantModel):
        code = models.CharField(max_length=10)

        class Meta:
            app_label = "tenancy"
            indexes = [models.Index(fields=["org", "code"], name="thing_code")]
            constraints = [models.UniqueConstraint(fields=["org", "code"], name="thing_uniq")]

    assert tenant_model_errors(Thing) == []
