"""The demo territory: plan it (pure, deterministic) and save it (bulk inserts).

City 1402 云州市 (fictional) ─ 2 urban districts in the core (街道 → 社区, urban grids) and
2 counties around them (镇/乡 → 村, rural grids; each 镇 has a seat 社区 with urban grids).
Counts scale with the number of grids asked for: ~7 grids per urban community and ~9
communities per street; ~3 grids per village and ~8 villages per township.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import shapely
from django.db import transaction
from django.db.models import F

from civicgrid.territory.models import Area, Grid, MicroGrid, TerritoryVersion

from . import geometry as geo
from . import names as nm

URBAN_SHARE = 0.6  # share of grids in the two urban districts
URBAN_GRIDS_PER_COMMUNITY = 7
URBAN_COMMUNITIES_PER_STREET = 9
RURAL_GRIDS_PER_VILLAGE = 3
RURAL_VILLAGES_PER_TOWN = 8
TOWN_SHARE = 0.6  # 镇 vs 乡 among rural townships
HOUSEHOLDS = (300, 500)  # per regular grid (docs/domain.md §1 target)
GRID_DUTY = (
    "负责网格内人口、房屋、单位等基础信息采集，矛盾纠纷排查化解，安全隐患巡查上报，"
    "政策宣传和便民服务。"
)
BATCH = 500


@dataclass
class Node:
    """One area, grid or micro-grid of the plan (lng/lat polygon)."""

    code: str
    name: str
    level: int  # 1 city, 2 district/county, 3 street/township, 4 community/village
    geometry: object
    parent: str | None
    urban: bool = True
    kind: str = ""  # grids: urban / rural / dedicated
    dedicated_type: str = ""
    households: int = 0
    population: int = 0
    duty: str = ""


@dataclass
class TerritoryPlan:
    city: Node
    districts: list[Node] = field(default_factory=list)
    streets: list[Node] = field(default_factory=list)
    communities: list[Node] = field(default_factory=list)
    grids: list[Node] = field(default_factory=list)
    micro_grids: list[Node] = field(default_factory=list)

    @property
    def areas(self) -> list[Node]:
        return [self.city, *self.districts, *self.streets, *self.communities]


def apportion(total: int, k: int, rng: random.Random, spread: float = 0.3) -> list[int]:
    """Split total into k positive integers with random weights (largest remainder)."""
    if k <= 0:
        return []
    if total < k:
        raise ValueError("cannot give every part at least one")
    weights = [rng.uniform(1 - spread, 1 + spread) for _ in range(k)]
    rest = total - k
    shares = [rest * w / sum(weights) for w in weights]
    out = [1 + int(s) for s in shares]
    order = sorted(range(k), key=lambda i: -(shares[i] - int(shares[i])))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _parts(total: int, per_part: float, rng: random.Random, *, lo: int, hi: int) -> list[int]:
    """About total/per_part parts (at least lo, at most hi, never more than total)."""
    k = min(total, hi, max(lo, round(total / per_part)))
    return apportion(total, k, rng)


def plan_territory(grids: int, seed: int) -> TerritoryPlan:
    """The whole territory for ``grids`` grids; the same (grids, seed) gives the same plan."""
    if grids < 8:
        raise ValueError("the demo city needs at least 8 grids (2 per district)")
    rng = random.Random(f"civicgrid-demo-territory:{seed}")
    pool = nm.NamePool(rng)
    facilities: set[str] = set()

    outline = geo.to_lnglat(geo.blob(rng, 0, 0, 32_000, 26_000, n=220))
    ox, oy = rng.uniform(-2500, 2500), rng.uniform(-2000, 2000)
    core = geo.to_lnglat(geo.blob(rng, ox, oy, 8_000, 6_500, n=140))
    core = max(geo._polygons(shapely.intersection(core, outline)), key=lambda p: p.area)
    ring = shapely.difference(outline, core)
    plan = TerritoryPlan(
        city=Node("140200000000", nm.CITY_NAME, 1, outline, None),
    )

    urban_total = max(4, round(grids * URBAN_SHARE))
    urban_split = apportion(urban_total, 2, rng, 0.1)
    rural_split = apportion(grids - urban_total, 2, rng, 0.1)
    # Two urban districts side by side in the core; two counties north and south around it.
    # The borders between them zig-zag along Voronoi edges, like real district borders.
    centre = (core.centroid.x, core.centroid.y)
    west, east = geo.halves(core, centre, math.pi / 2, 10, rng)
    north, south = geo.halves(ring, centre, rng.uniform(-0.2, 0.2), 14, rng)
    cells = [west, east, north, south]
    for (digits, name, urban), cell, n_grids in zip(
        nm.DISTRICTS, cells, [*urban_split, *rural_split], strict=True
    ):
        district = Node(f"1402{digits}000000", name, 2, cell, plan.city.code, urban=urban)
        plan.districts.append(district)
        _plan_district(plan, district, n_grids, rng, pool, facilities)

    _plan_micro_grids(plan, grids, rng)
    return plan


def _plan_district(plan, district: Node, n_grids: int, rng, pool, facilities) -> None:
    if district.urban:
        per_street = URBAN_GRIDS_PER_COMMUNITY * URBAN_COMMUNITIES_PER_STREET
    else:
        per_street = RURAL_GRIDS_PER_VILLAGE * RURAL_VILLAGES_PER_TOWN
    # 3-digit township serials: 街道 001-099, 镇 100-199, 乡 200-399 (beyond: still valid codes).
    street_grids = _parts(n_grids, per_street, rng, lo=2, hi=800)
    cells = geo.partition(district.geometry, len(street_grids), rng)
    order = geo.reading_order(cells, district.geometry)
    prefix = district.code[:6]
    if district.urban:
        kinds = ["街道"] * len(cells)
    else:
        n_towns = max(1, round(len(cells) * TOWN_SHARE))
        kinds = ["镇"] * n_towns + ["乡"] * (len(cells) - n_towns)
        rng.shuffle(kinds)
    serial = {"街道": 0, "镇": 99, "乡": 199}  # 统计用区划代码: 001-099 街道, 1xx 镇, 2xx 乡
    for rank, i in enumerate(order):
        kind = kinds[rank]
        serial[kind] += 1
        name = pool.street() if kind == "街道" else pool.town(kind)
        street = Node(
            f"{prefix}{serial[kind]:03d}000", name, 3, cells[i], district.code, urban=district.urban
        )
        street.kind = kind
        plan.streets.append(street)
        _plan_street(plan, district, street, street_grids[i], rng, pool, facilities)


def _plan_street(plan, district, street: Node, n_grids: int, rng, pool, facilities) -> None:
    per_comm = URBAN_GRIDS_PER_COMMUNITY if district.urban else RURAL_GRIDS_PER_VILLAGE
    comm_grids = _parts(n_grids, per_comm, rng, lo=1, hi=790)
    cells = geo.partition(street.geometry, len(comm_grids), rng)
    order = geo.reading_order(cells, street.geometry)
    seat = None
    if street.kind == "镇":
        # The township seat is the community nearest the township's centre: a 社区 with urban grids.
        centre = street.geometry.centroid
        seat = min(range(len(cells)), key=lambda i: cells[i].centroid.distance(centre))
    prefix = street.code[:9]
    community_serial, village_serial = 0, 199  # 001-199 居委会 (社区), 2xx 村委会
    for i in order:
        urban = district.urban or i == seat
        if urban:
            community_serial += 1
            code, name = f"{prefix}{community_serial:03d}", pool.community()
        else:
            village_serial += 1
            code, name = f"{prefix}{village_serial:03d}", pool.village()
        comm = Node(code, name, 4, cells[i], street.code, urban=urban)
        plan.communities.append(comm)
        _plan_grids(plan, district, street, comm, comm_grids[i], rng, pool, facilities)


def _plan_grids(plan, district, street, comm: Node, n: int, rng, pool, facilities) -> None:
    cells = geo.partition(comm.geometry, n, rng)
    order = geo.reading_order(cells, comm.geometry)
    dedicated_at = None
    if n >= 2 and rng.random() < (0.25 if comm.urban else 0.12):
        # Units are compact: the smallest cell becomes the dedicated grid.
        dedicated_at = min(range(n), key=lambda i: cells[i].area)
    for serial, i in enumerate(order, start=1):
        code = f"{comm.code}{serial:03d}"
        if i == dedicated_at:
            dtype, unit = _facility(district, street, comm, rng, pool, facilities)
            node = Node(
                code,
                f"{unit}专属网格",
                5,
                cells[i],
                comm.code,
                kind="dedicated",
                dedicated_type=dtype,
                households=rng.randint(0, 40),
                population=_unit_population(dtype, rng),
                duty=f"负责{unit}内部及周边治安防范、安全隐患排查和矛盾纠纷化解。",
            )
        else:
            hh = rng.randint(*HOUSEHOLDS)
            ratio = rng.uniform(2.3, 2.9) if comm.urban else rng.uniform(2.6, 3.4)
            name = f"{comm.name}网格" if n == 1 else f"{comm.name}第{serial}网格"
            node = Node(
                code,
                name,
                5,
                cells[i],
                comm.code,
                kind="urban" if comm.urban else "rural",
                households=hh,
                population=round(hh * ratio),
                duty=GRID_DUTY,
            )
        plan.grids.append(node)


def _facility(district, street, comm, rng, pool, facilities) -> tuple[str, str]:
    table = nm.DEDICATED_URBAN if comm.urban and district.urban else nm.DEDICATED_RURAL
    kinds = [k for k, _w, _t in table]
    dtype = rng.choices(kinds, weights=[w for _k, w, _t in table])[0]
    templates = next(t for k, _w, t in table if k == dtype)
    for attempt in range(30):
        unit = rng.choice(templates).format(
            w=pool.word(),
            d=district.name[:-1],
            t=street.name[:-1] if street.name[-1] in "镇乡" else street.name[:-2],
            n=nm.chinese_number(rng.randint(1, 30) + attempt),
        )
        if unit not in facilities:
            break
    else:
        unit = f"{comm.name}{unit}"
    facilities.add(unit)
    return dtype, unit


def _unit_population(dtype: str, rng) -> int:
    lo, hi = {
        "school": (600, 3000),
        "hospital": (400, 2000),
        "park": (0, 60),
        "market": (150, 800),
        "enterprise": (200, 2500),
        "building": (300, 3000),
    }[dtype]
    return rng.randint(lo, hi)


def _plan_micro_grids(plan: TerritoryPlan, grids: int, rng) -> None:
    """A few urban grids (always the first one of the demo worker) split into buildings."""
    urban = [g for g in plan.grids if g.kind == "urban"]
    if not urban:
        return
    count = min(len(urban), max(3, grids // 500))
    chosen = [urban[0], *rng.sample(urban[1:], min(count - 1, len(urban) - 1))]
    chosen.sort(key=lambda g: g.code)
    for grid in chosen:
        k = min(20, max(8, round(grid.households / 25)))
        cells = geo.partition(grid.geometry, k, rng)
        order = geo.reading_order(cells, grid.geometry)
        households = apportion(grid.households, k, rng, 0.4)
        for serial, i in enumerate(order, start=1):
            plan.micro_grids.append(
                Node(
                    f"{grid.code}{serial:02d}",
                    f"{grid.name}{serial}号楼",
                    6,
                    cells[i],
                    grid.code,
                    kind="micro",
                    households=households[serial - 1],
                )
            )


# --- saving -------------------------------------------------------------------------------------


def _bounded(obj, geom) -> None:
    obj.boundary = shapely.to_wkb(geom)
    obj.min_lng, obj.min_lat, obj.max_lng, obj.max_lat = geom.bounds


def save_territory(plan: TerritoryPlan, ctx) -> None:
    """Insert the plan level by level (bulk_create returns primary keys on both databases)."""
    by_code: dict[str, Area] = {}

    def areas(nodes: list[Node]) -> list[Area]:
        rows = []
        for node in sorted(nodes, key=lambda n: n.code):
            row = Area(
                code=node.code,
                name=node.name,
                level=node.level,
                parent=by_code.get(node.parent) if node.parent else None,
            )
            _bounded(row, node.geometry)
            rows.append(row)
        Area.objects.bulk_create(rows, batch_size=BATCH)
        for row in rows:
            by_code[row.code] = row
        return rows

    ctx.city = areas([plan.city])[0]
    ctx.districts = areas(plan.districts)
    ctx.streets = areas(plan.streets)
    ctx.communities = areas(plan.communities)

    grid_rows = []
    for node in sorted(plan.grids, key=lambda n: n.code):
        row = Grid(
            code=node.code,
            name=node.name,
            kind=node.kind,
            dedicated_type=node.dedicated_type,
            area=by_code[node.parent],
            households=node.households,
            population=node.population,
            duty=node.duty,
        )
        _bounded(row, node.geometry)
        grid_rows.append(row)
    Grid.objects.bulk_create(grid_rows, batch_size=BATCH)
    ctx.grids = grid_rows
    grid_by_code = {g.code: g for g in grid_rows}

    micro_rows = []
    for node in sorted(plan.micro_grids, key=lambda n: n.code):
        row = MicroGrid(
            code=node.code,
            name=node.name,
            grid=grid_by_code[node.parent],
            households=node.households,
        )
        _bounded(row, node.geometry)
        micro_rows.append(row)
    MicroGrid.objects.bulk_create(micro_rows, batch_size=BATCH)
    ctx.micro_grids = micro_rows
    bump_version()


def bump_version() -> None:
    """Invalidate every process's spatial index, in the seeding transaction."""
    try:
        from civicgrid.territory.spatial import bump_territory_version
    except ImportError:
        bump_territory_version = None
    if bump_territory_version is not None:
        bump_territory_version()
        return
    with transaction.atomic():
        if not TerritoryVersion.objects.filter(pk=1).update(value=F("value") + 1):
            TerritoryVersion.objects.create(pk=1, value=1)
