"""The API's response models for read-model rows, made from the tables' declarations.

A model's fields are its table's columns (``projections/tables.py``): their names,
the types readers see, whether they may be null, and their descriptions and
examples. It is made from a query's row as stored (``ReadModelQueries``): a
column's ``load`` turns the stored value into the field's (0/1 into a yes or no,
JSON text into an object, comma-joined names into a list).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Annotated, Any, get_origin

from pydantic import BaseModel, BeforeValidator, Field

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


def column_field(column: Column[Any], *, nullable: bool = False) -> tuple[Any, Any]:
    """The annotation and field of ``column`` (``nullable``: documented as nullable
    whatever the column holds)."""
    annotation: Any = column.kind.python
    if column.nullable or nullable:
        annotation = annotation | None
    if column.kind.load is not None:
        annotation = Annotated[annotation, BeforeValidator(_loader(column))]
    info = Field(
        description=column.doc,
        examples=list(column.examples) if column.examples else None,
    )
    return annotation, info


class RowModel(BaseModel):
    """A response model with a field for each column of ``table``.

    ``class Entry(RowModel, table=T, leave_out={"x"})``: T's columns but x, in
    T's order, then the fields the class declares itself, except those ``after``
    places after a column (field -> column). ``nullable``: columns the API has
    always documented as nullable although the table never holds a null, kept so
    rather than change a published schema.
    """

    def __init_subclass__(
        cls,
        *,
        table: Table[Any] | None = None,
        leave_out: Collection[str] = (),
        after: Mapping[str, str] | None = None,
        nullable: Collection[str] = (),
        **kwargs: Any,
    ) -> None:
        # Pydantic collects the fields after this, from the class's annotations.
        if table is not None:
            for name in (*leave_out, *(after or {}).values(), *nullable):
                table.column(name)
            own = dict(inspect.get_annotations(cls))
            fields: dict[str, Any] = {}
            for column in table.columns:
                if column.name in leave_out:
                    continue
                annotation, info = column_field(
                    column, nullable=column.name in nullable
                )
                fields[column.name] = annotation
                setattr(cls, column.name, info)
                for name, before in (after or {}).items():
                    if before == column.name:
                        fields[name] = own.pop(name)
            cls.__annotations__ = {**fields, **own}
        super().__init_subclass__(**kwargs)

    if TYPE_CHECKING:
        # The fields are made at run time, from the table.
        def __getattr__(self, name: str) -> Any: ...
