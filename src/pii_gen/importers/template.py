"""Metadata templates (``pii_gen import --template FILE.json``): entities with typed fields, primary and
foreign keys and Faker methods, read into source tables.  The template is one pydantic model with unknown
keys refused, so a misspelt field is a one-line error naming its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError
from .source import ForeignKey, SourceColumn, SourceTable, read_json_file

#: A template's field types as schema-file types.
TYPES = {"string": "string", "integer": "int", "number": "float", "boolean": "bool", "date": "date",
         "datetime": "timestamp"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TemplateField(_Strict):
    name: str = Field(min_length=1)
    type: Literal[tuple(TYPES)] = "string"  # type: ignore[valid-type]
    is_primary_key: bool = False
    is_pii: bool | None = None
    faker_method: str | None = None
    faker_args: dict[str, Any] = Field(default_factory=dict)
    foreign_key: str | None = Field(None, pattern=r"^[^.\s]+\.[^.\s]+$")
    description: str | None = None
    nullable: bool = False


class Entity(_Strict):
    name: str = Field(min_length=1)
    table_name: str | None = None
    row_count: int | None = Field(None, ge=0)
    endpoint: str | None = None
    description: str | None = None
    fields: list[TemplateField] = Field(min_length=1)


class Relationship(_Strict):
    from_: str = Field(alias="from", pattern=r"^[^.\s]+\.[^.\s]+$")
    to: str = Field(pattern=r"^[^.\s]+\.[^.\s]+$")
    type: str | None = None


class Template(_Strict):
    name: str | None = None
    source_type: str | None = None
    base_url: str | None = None
    description: str | None = None
    entities: list[Entity] = Field(min_length=1)
    relationships: list[Relationship] = Field(default_factory=list)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def parse_template(data: Any, source: str = "template") -> Template:
    """The validated template, or a one-line ConfigError ``source: path: what``."""
    try:
        return Template.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        what = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(f"{source}: {_path(first['loc'])}: {what}") from None


def read_template(path: str | Path) -> tuple[Template, list[SourceTable]]:
    """A template file read, validated and turned into source tables (entities in file order)."""
    source = Path(path).name
    template = parse_template(read_json_file(path, "template "), source)
    return template, template_tables(template, source)


def template_tables(template: Template, source: str = "template") -> list[SourceTable]:
    """Source tables of a validated template; a foreign key to an entity or field that does not exist is an
    error naming it."""
    fields = {e.name: {f.name for f in e.fields} for e in template.entities}
    seen: set[str] = set()
    tables = []
    for i, entity in enumerate(template.entities):
        if entity.name in seen:
            raise ConfigError(f"{source}: entities[{i}].name: entity '{entity.name}' is declared twice")
        seen.add(entity.name)
        fks: dict[str, ForeignKey] = {}
        columns = []
        for j, f in enumerate(entity.fields):
            if f.foreign_key:
                fks[f.name] = _fk(f.name, f.foreign_key, fields, f"{source}: entities[{i}].fields[{j}].foreign_key")
            columns.append(SourceColumn(name=f.name, type=TYPES[f.type], nullable=f.nullable, source_type=f.type,
                                        faker=f.faker_method, faker_args=dict(f.faker_args), pii=f.is_pii))
        for k, rel in enumerate(template.relationships):
            table, column = rel.from_.split(".")
            if table == entity.name and column not in fks:
                if column not in fields[entity.name]:
                    raise ConfigError(f"{source}: relationships[{k}].from: entity {table} has no field '{column}'")
                fks[column] = _fk(column, rel.to, fields, f"{source}: relationships[{k}].to")
        key = [f.name for f in entity.fields if f.is_primary_key]
        where = f"template entity {entity.name}" + (f" ({entity.table_name})" if entity.table_name else "")
        tables.append(SourceTable(name=entity.name, columns=columns, key=key, foreign_keys=list(fks.values()),
                                  rows=entity.row_count, origin=where))
    for k, rel in enumerate(template.relationships):
        if rel.from_.split(".")[0] not in fields:
            raise ConfigError(f"{source}: relationships[{k}].from: no entity named '{rel.from_.split('.')[0]}'")
    return tables


def _fk(column: str, target: str, fields: dict[str, set[str]], where: str) -> ForeignKey:
    table, ref = target.split(".")
    if table not in fields:
        raise ConfigError(f"{where}: no entity named '{table}'")
    if ref not in fields[table]:
        raise ConfigError(f"{where}: entity {table} has no field '{ref}'")
    return ForeignKey(columns=[column], table=table, ref_columns=[ref])
