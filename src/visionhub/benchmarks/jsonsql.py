"""Django expressions over the result json that compile to the same meaning on PostgreSQL
(JSONB: ``#>``, ``#>>``, ``jsonb_typeof``) and SQLite (JSON1: ``json_type``, ``json_extract``,
``json_each``). ``filters.py`` builds queries from them; an expression index on PostgreSQL must
repeat their SQL exactly (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Case, DecimalField, Expression, F, Func, TextField, When
from django.db.models.fields.json import (  # type: ignore[attr-defined]  # not in the stubs
    KeyTextTransform,
    KeyTransform,
    compile_json_path,
)
from django.db.models.sql.compiler import SQLCompiler

Kind = Literal["number", "string", "true", "false", "null", "object", "array"]


class JsonTypeIs(Expression):
    """True where the value at ``path`` of a JSON column is of JSON type ``kind``.

    PostgreSQL: ``jsonb_typeof(col #> path) = 'number'`` (or ``= 'true'::jsonb`` …);
    SQLite: ``json_type(col, '$."a"."b"') IN ('integer', 'real')`` (or ``= 'true'`` …).
    """

    conditional = True
    output_field = BooleanField()

    _PG = {
        "number": "number",
        "string": "string",
        "null": "null",
        "object": "object",
        "array": "array",
    }
    _SQLITE = {
        "object": "= 'object'",
        "array": "= 'array'",
        "number": "IN ('integer', 'real')",
        "string": "= 'text'",
        "true": "= 'true'",
        "false": "= 'false'",
        "null": "= 'null'",
    }

    def __init__(self, column: str, path: tuple[str, ...], kind: Kind) -> None:
        super().__init__()
        self.path = path
        self.kind = kind
        self.target: Any = json_value(column, path)
        self.column: Any = F(column)

    def get_source_expressions(self) -> list[Any]:
        return [self.target, self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.target, self.column = exprs

    def resolve_expression(self, *args: Any, **kwargs: Any) -> JsonTypeIs:
        clone: JsonTypeIs = self.copy()
        clone.target = self.target.resolve_expression(*args, **kwargs)
        clone.column = self.column.resolve_expression(*args, **kwargs)
        return clone

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        if connection.vendor == "postgresql":
            sql, params = compiler.compile(self.target)
            if self.kind in ("true", "false"):
                return f"({sql} = '{self.kind}'::jsonb)", tuple(params)
            return f"(jsonb_typeof({sql}) = '{self._PG[self.kind]}')", tuple(params)
        if connection.vendor == "sqlite":
            column, params = compiler.compile(self.column)
            return (
                f"(json_type({column}, %s) {self._SQLITE[self.kind]})",
                (*params, compile_json_path(list(self.path))),
            )
        raise NotImplementedError(f"JSON filters are not written for {connection.vendor}")


class ToNumeric(Func):
    """``CAST(x AS NUMERIC)``: exact decimals on PostgreSQL, numeric affinity on SQLite."""

    template = "CAST(%(expressions)s AS NUMERIC)"
    output_field = DecimalField()


class CodePoints(Func):
    """Text compared by code point: ``COLLATE "C"`` on PostgreSQL, SQLite's default BINARY."""

    template = '(%(expressions)s COLLATE "C")'
    output_field = TextField()

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, Any]:
        return self.as_sql(compiler, connection, template="%(expressions)s", **extra)


def json_value(column: str, path: tuple[str, ...]) -> KeyTransform:
    """The JSON value at ``path`` (``col #> '{a,b}'`` on PostgreSQL)."""
    expression: Any = F(column)
    for part in path:
        expression = KeyTransform(part, expression)
    return expression  # type: ignore[no-any-return]


def json_text(column: str, path: tuple[str, ...]) -> KeyTextTransform:
    """The value at ``path`` as text (``col #>> '{a,b}'``; ``json_extract`` on SQLite)."""
    expression: Any = F(column)
    for part in path[:-1]:
        expression = KeyTransform(part, expression)
    return KeyTextTransform(path[-1], expression)


def json_number(column: str, path: tuple[str, ...]) -> Case:
    """The number at ``path`` as ``numeric``, NULL where the value is not a JSON number.

    On PostgreSQL this is ``CASE WHEN jsonb_typeof(col #> p) = 'number' THEN
    CAST((col #>> p) AS NUMERIC) END``: index exactly this expression to make a range filter on
    ``p`` an index scan (see docs/benchmarks.md).
    """
    return Case(
        When(JsonTypeIs(column, path, "number"), then=ToNumeric(json_text(column, path))),
        default=None,
        output_field=DecimalField(),
    )


def json_string(column: str, path: tuple[str, ...]) -> Case:
    """The string at ``path`` in code-point order, NULL where it is not a JSON string."""
    return Case(
        When(JsonTypeIs(column, path, "string"), then=CodePoints(json_text(column, path))),
        default=None,
        output_field=TextField(),
    )


def scalar_kind(value: Any) -> tuple[Kind, Any]:
    """The JSON type of a Python scalar, and the value to compare with (numbers as Decimal)."""
    if value is None:
        return "null", None
    if isinstance(value, bool):
        return ("true" if value else "false"), value
    if isinstance(value, int | float):
        return "number", Decimal(str(value))
    return "string", str(value)


class JsonArrayHolds(Expression):
    """SQLite only: the array at ``path`` has an element equal to the scalar ``value``."""

    conditional = True
    output_field = BooleanField()
    _TYPES = {
        "number": "IN ('integer', 'real')",
        "string": "= 'text'",
        "true": "= 'true'",
        "false": "= 'false'",
        "null": "= 'null'",
    }

    def __init__(self, column: str, path: tuple[str, ...], value: Any) -> None:
        super().__init__()
        self.path = path
        self.kind, self.value = scalar_kind(value)
        self.column: Any = F(column)

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def resolve_expression(self, *args: Any, **kwargs: Any) -> JsonArrayHolds:
        clone: JsonArrayHolds = self.copy()
        clone.column = self.column.resolve_expression(*args, **kwargs)
        return clone

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.column)
        where = f"element.type {self._TYPES[self.kind]}"
        extra_params: tuple[Any, ...] = ()
        if self.kind == "number":
            where += " AND element.value = CAST(%s AS NUMERIC)"
            extra_params = (str(self.value),)
        elif self.kind == "string":
            where += " AND element.value = %s"
            extra_params = (self.value,)
        # ``column`` is the compiled column reference and ``where`` comes from the fixed
        # _TYPES table; every value travels as a parameter.
        sql = f"EXISTS (SELECT 1 FROM json_each({column}, %s) AS element WHERE {where})"  # noqa: S608
        return sql, (*params, compile_json_path(list(self.path)), *extra_params)


class RowCompare(Expression):
    """``(a, b, c) > (%s, %s, %s)``: a row-value comparison, which PostgreSQL (and SQLite)
    answer with one seek in an index on ``(a, b, c)``, where the equivalent OR of conditions
    makes them scan from the start of the index."""

    conditional = True
    output_field = BooleanField()

    def __init__(
        self, expressions: Sequence[Any], op: Literal["<", ">"], values: Sequence[Any]
    ) -> None:
        super().__init__()
        self.expressions = list(expressions)
        self.op = op
        self.values = list(values)

    def get_source_expressions(self) -> list[Any]:
        return self.expressions

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.expressions = list(exprs)

    def resolve_expression(self, *args: Any, **kwargs: Any) -> RowCompare:
        clone: RowCompare = self.copy()
        clone.expressions = [e.resolve_expression(*args, **kwargs) for e in self.expressions]
        return clone

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        parts: list[str] = []
        params: list[Any] = []
        for expression in self.expressions:
            sql, expression_params = compiler.compile(expression)
            parts.append(sql)
            params.extend(expression_params)
        marks = ", ".join(["%s"] * len(self.values))
        return f"(({', '.join(parts)}) {self.op} ({marks}))", (*params, *self.values)
