"""The API's response models for read-model rows, made from the tables' declarations.

A model's fields are its table's columns (``projections/tables.py``): their names,
the types readers see, whether they may be null, and their descriptions and
examples. It is made from a query's row as stored (``ReadModelQueries``): a
column's ``load`` turns the stored value into the field's (0/1 into a yes or no,
JSON text into an object, comma-joined names into a list).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Annotated, Any, get_origin

from pydantic import BaseModel, BeforeValidator, Field, create_model

from projections.tables import Column, Table


def _loader(column: Column[Any]) -> Callable[[Any], Any]:
    load = column.kind.load
    assert load is not None
    python = get_origin(column.kind.python) or column.kind.python

    def loaded(value: Any) -> Any:
        if value is None or isinstance(value, python):
            return value
        return load(value)

    return loaded


def column_field(column: Column[Any], *, nullable: bool = False) -> Any:
    """A pydantic field definition for ``column`` (``nullable``: documented as
    nullable whatever the column holds)."""
    annotation: Any = column.kind.python
    if column.nullable or nullable:
        annotation = annotation | None
    if column.kind.load is not None:
        annotation = Annotated[annotation, BeforeValidator(_loader(column))]
    info = Field(
        description=column.doc,
        examples=list(column.examples) if column.examples else None,
    )
    return (annotation, info)


def row_fields(
    table: Table[Any],
    names: Sequence[str] | None = None,
    *,
    nullable: Collection[str] = (),
) -> dict[str, Any]:
    """Field definitions for the table's columns (all, or ``names``, in that order).

    ``nullable``: columns the API has always documented as nullable although the
    table never holds a null; kept so, not to change a published schema."""
    chosen = table.names if names is None else names
    return {
        name: column_field(table.column(name), nullable=name in nullable)
        for name in chosen
    }


def row_model(
    name: str,
    table: Table[Any],
    names: Sequence[str] | None = None,
    *,
    doc: str | None = None,
    nullable: Collection[str] = (),
) -> type[BaseModel]:
    """A response model whose fields are the table's columns (:func:`row_fields`)."""
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        name,
        __doc__=doc,
        **row_fields(table, names, nullable=nullable),
    )
    return model
