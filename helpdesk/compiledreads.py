"""Reads of one fixed shape whose SQL Django compiles once per process.

A queryset with `select_related` costs more CPU to compile (columns, joins, converters) than
PostgreSQL spends running it by its primary key: 1.1 ms of the 8.7 ms of Python a blueprint
transition cost went into compiling the locked ticket's read (bench/blueprints.py
--profile). `CompiledRead` compiles its queryset once, with placeholder values for its
arguments, and then runs the same SQL with each call's values, building the model instances
(and their `select_related` objects) as Django's `ModelIterable` does.

Arguments are integers (ids) or strings compared exactly (a portal's name). A queryset whose
SQL would depend on anything but the arguments' values (the language, the time, the user)
must not be compiled this way. It imports no app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

ModelT = TypeVar("ModelT", bound=Model)

# Stand-ins for the arguments while compiling: values no id or name takes.
# Within every integer column's range (a positive 4-byte one's too: Django refuses to compile
# a lookup whose value its column cannot hold).
_PLACEHOLDER_BASE = 2_147_000_000
_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1


def _placeholder(n: int, value: Any) -> Any:
    if isinstance(value, str):
        return f"\x00compiledreads-{n}\x00"
    return _PLACEHOLDER_BASE + n


@dataclass
class _Plan:
    sql: str
    params: tuple[Any, ...]
    slots: list[tuple[int, str]]  # (index in params, argument name)
    compiler: Any
    converters: dict
    model: type[Model]
    init_list: list[str]
    start: int
    end: int
    populators: list
    annotations: dict[str, int]
    db: str


class CompiledRead(Generic[ModelT]):
    """`CompiledRead(lambda org_id, pk: Model.objects.filter(...))(org_id=1, pk=2)` returns the
    first matching instance or None, as `.first()` would without its ordering; `.all(...)`
    returns every one."""

    def __init__(self, build: Callable[..., QuerySet[ModelT]]) -> None:
        self._build = build
        self._plan: _Plan | None = None

    def _compile(self, arguments: dict[str, Any]) -> _Plan:
        names = sorted(arguments)
        placeholders = {name: _placeholder(n, arguments[name]) for n, name in enumerate(names)}
        queryset = self._build(**placeholders)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        by_value = {value: name for name, value in placeholders.items()}
        slots = [(i, by_value[p]) for i, p in enumerate(params) if p in by_value]
        if {name for _i, name in slots} != set(names):
            raise ValueError("every argument must appear as a parameter of the query")
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        fields = [s[0] for s in select[: compiler.col_count]]
        return _Plan(
            sql=sql,
            params=tuple(params),
            slots=slots,
            compiler=compiler,
            converters=compiler.get_converters(fields),
            model=klass_info["model"],
            init_list=[f[0].target.attname for f in select[start:end]],
            start=start,
            end=end,
            populators=get_related_populators(klass_info, select, queryset.db),
            annotations=dict(compiler.annotation_col_map or {}),
            db=queryset.db,
        )

    def _run(self, arguments: dict[str, Any], many: bool) -> tuple[_Plan, list[Any]]:
        plan = self._plan
        if plan is None:
            plan = self._plan = self._compile(arguments)
        if any(
            isinstance(v, int) and not _BIGINT_MIN <= v <= _BIGINT_MAX for v in arguments.values()
        ):
            # No row has such an id (an address typed by hand): none, as Django answers a
            # lookup its column cannot hold, instead of the database's out-of-range error.
            return plan, []
        params = list(plan.params)
        for index, name in plan.slots:
            params[index] = arguments[name]
        with connections[plan.db].cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall() if many else cursor.fetchmany(1)
        if plan.converters and rows:
            rows = list(plan.compiler.apply_converters(rows, plan.converters))
        return plan, rows

    @staticmethod
    def _instance(plan: _Plan, row: Any) -> Any:
        obj = plan.model.from_db(plan.db, plan.init_list, row[plan.start : plan.end])
        for populator in plan.populators:
            populator.populate(row, obj)
        for name, position in plan.annotations.items():
            setattr(obj, name, row[position])
        return obj

    def __call__(self, **arguments: int | str) -> ModelT | None:
        plan, rows = self._run(arguments, many=False)
        return self._instance(plan, rows[0]) if rows else None

    def queryset(self, **arguments: int | str) -> QuerySet[ModelT]:
        """The queryset this read runs, with these values (its plan can be explained)."""
        return self._build(**arguments)

    def all(self, **arguments: int | str) -> list[ModelT]:
        """Every matching instance, in the queryset's order."""
        plan, rows = self._run(arguments, many=True)
        return [self._instance(plan, row) for row in rows]
