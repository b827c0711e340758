"""Constrained parameter types shared by the routers, so the OpenAPI document states the ranges
that the validation enforces (and a huge number is a 422 naming the field, never a 500)."""

from typing import Annotated

from pydantic import Field

# Primary keys are 64-bit (BigAutoField); SQLite raises OverflowError beyond that.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]
# A page size.
Limit = Annotated[int, Field(ge=1, le=500)]
