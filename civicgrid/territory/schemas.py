"""Ninja In/Out schemas of the territory API. Lists are GeoJSON FeatureCollections (RFC 7946)."""

from __future__ import annotations

from typing import Any, Literal

from ninja import Field, Schema

Geometry = dict[str, Any]  # a GeoJSON geometry object (Polygon / MultiPolygon), lng/lat WGS-84


class Page(Schema):
    """Foreign members on every collection: the total and where this page sits."""

    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(None, description="offset of the next page, null on the last")


# --- filters ------------------------------------------------------------------------------------

BBOX_HELP = "minLng,minLat,maxLng,maxLat (WGS-84); objects whose bounding box meets it"


class AreaFilters(Schema):
    level: int | None = Field(None, ge=1, le=4, description="1 city … 4 village/community")
    parent: str | None = Field(None, description="code of the parent area (direct children)")
    bbox: str | None = Field(None, description=BBOX_HELP)
    limit: int = Field(500, ge=1, le=5000)
    offset: int = Field(0, ge=0)


class GridFilters(Schema):
    area: str | None = Field(None, description="area code of any level: grids below it")
    kind: Literal["urban", "rural", "dedicated"] | None = None
    bbox: str | None = Field(None, description=BBOX_HELP)
    simplify: float | None = Field(
        None, ge=0, le=1000, description="simplification tolerance in metres, for map display"
    )
    limit: int = Field(500, ge=1, le=5000)
    offset: int = Field(0, ge=0)


# --- areas ----------------------------------------------------------------------------------------


class AreaRef(Schema):
    code: str
    name: str


class AreaProperties(Schema):
    code: str
    name: str
    level: int
    level_label: str
    parent_code: str | None


class AreaFeature(Schema):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: Geometry | None
    properties: AreaProperties


class AreaCollection(Page):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[AreaFeature]


class AreaDetailProperties(AreaProperties):
    parent_name: str | None
    children: list[AreaRef] = Field(description="child areas within the caller's scope")
    grid_count: int = Field(description="grids below this area within the caller's scope")


class AreaDetail(Schema):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: Geometry | None
    properties: AreaDetailProperties


# --- grids ----------------------------------------------------------------------------------------


class GridProperties(Schema):
    code: str
    name: str
    kind: str
    kind_label: str
    dedicated_type: str
    area_code: str
    households: int
    population: int


class GridFeature(Schema):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: Geometry | None
    properties: GridProperties


class GridCollection(Page):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[GridFeature]


class MemberOut(Schema):
    user_id: int
    name: str
    phone: str
    worker_type: str
    worker_type_label: str
    is_leader: bool


class AdviserOut(Schema):
    kind: str
    kind_label: str
    name: str
    organisation: str
    phone: str


class MicroGridOut(Schema):
    code: str
    name: str
    households: int
    geometry: Geometry | None


class GridDetailProperties(GridProperties):
    area_name: str
    duty: str
    members: list[MemberOut]
    advisers: list[AdviserOut]
    micro_grids: list[MicroGridOut]


class GridDetail(Schema):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: Geometry | None
    properties: GridDetailProperties


# --- locate ---------------------------------------------------------------------------------------


class LocateOut(Schema):
    lat: float = Field(description="WGS-84 latitude after conversion from the input crs")
    lng: float = Field(description="WGS-84 longitude after conversion from the input crs")
    crs: str = Field(description="the crs the input was given in")
    found: bool
    in_scope: bool = Field(description="whether the caller may open the found grid")
    grid_code: str | None
    grid_name: str | None
    area_code: str | None = Field(description="the grid's community (village) code")
    micro_grid_code: str | None
    # Only for callers whose scope includes the grid; null otherwise.
    grid_id: int | None
    micro_grid_id: int | None
    micro_grid_name: str | None
    area_name: str | None
    # Only when no grid contains the point.
    nearest_grid_code: str | None
    nearest_grid_name: str | None
    distance_m: float | None = Field(description="geodesic metres to the nearest grid")
