"""Base model and name type shared by every spec schema (lines, processes, scenarios)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

NAME = r"^[A-Za-z][A-Za-z0-9_\-]*$"
"""Names of stations, products, species and pools: a letter, then letters, digits, '_', '-'."""

Name = Annotated[str, Field(pattern=NAME, max_length=64)]


class Model(BaseModel):
    """Base of all spec models: unknown keys are errors, values are immutable and finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              allow_inf_nan=False)
