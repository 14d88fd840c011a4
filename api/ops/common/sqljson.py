"""SQL that has the database build an API document as JSON text, written once for both
databases: the few functions and casts that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class JsonSql:
    dialect: str

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def array(self) -> str:
        """The function that makes a JSON array of its arguments."""
        return "json_array" if self.sqlite else "json_build_array"

    def object(self, fields: dict[str, str]) -> str:
        """A JSON object of named SQL expressions: {"key": expression, ...}."""
        function = "json_object" if self.sqlite else "json_build_object"
        pairs = ", ".join(f"'{key}', {expression}" for key, expression in fields.items())
        return f"{function}({pairs})"

    @property
    def agg(self) -> str:
        """The aggregate that makes a JSON array of its rows (NULL on PostgreSQL when none)."""
        return "json_group_array" if self.sqlite else "json_agg"

    def money(self, column: str) -> str:
        """A money column as text with two decimals ('28.00')."""
        return f"printf('%.2f', {column})" if self.sqlite else f"{column}::text"

    def ts(self, column: str) -> str:
        """A timestamp as UTC text without an offset on both, so the texts sort in time
        order (SQLite keeps UTC already)."""
        return column if self.sqlite else f"({column} AT TIME ZONE 'UTC')"

    def nested(self, subquery: str) -> str:
        """A subquery's JSON inside another JSON value (SQLite hands it back as text:
        json() makes it JSON again)."""
        return f"json(({subquery}))" if self.sqlite else f"({subquery})"

    def as_text(self, json_expression: str) -> str:
        return json_expression if self.sqlite else f"{json_expression}::text"


def utc_text(value: str | None) -> str | None:
    """'2026-11-24 15:27:02.811945' (SQLite) or '2026-11-24T15:27:02.811945' (PostgreSQL),
    both UTC, as the API writes every time: '2026-11-24T15:27:02.811945Z'."""
    if value is None:
        return None
    return datetime.fromisoformat(value).isoformat() + "Z"
