"""Coverage check of a generated city: 10,000 Voronoi grids (small: 1,000) in the database.

The city lives in a code range of its own (1498…, no real prefecture) and is deleted afterwards.
A few overlaps and gaps of known area are injected; the run checks that check_all finds exactly
those. The baseline is the obvious implementation — a pairwise loop of shapely intersections with
a Geod area per pair, no index, no vectorisation — measured in the same run on a sample of
communities and extrapolated to the whole city by pair count (labelled as such).
"""

from __future__ import annotations

import time

import numpy as np
import shapely
from django.db import transaction
from django.db.models import F
from shapely.geometry import box

from bench._util import measure, percentile, time_calls

CITY_CODE = "149800000000"
PREFIX = "1498"
SIZES = {"full": (10_000, 300), "small": (1_000, 30)}  # grids, communities
BBOX = (112.30, 37.70, 112.80, 38.05)  # ~44 km × 39 km
N_OVERLAPS = N_GAPS = 3
SAMPLE = {"full": 30, "small": 10}  # communities timed with the naive loop


def _cells(points: np.ndarray, region) -> list:
    """Voronoi cells of `points` clipped to `region`, in the order of the points."""
    if len(points) == 1:
        return [region]
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=region, ordered=True)
    parts = shapely.get_parts(cells)
    return list(shapely.intersection(parts, region))


def _scatter(rng, regions: list, n: int) -> list[np.ndarray]:
    """About n random points spread over `regions` (every region gets at least one)."""
    x0, y0, x1, y1 = shapely.total_bounds(regions)
    pts = np.column_stack([rng.uniform(x0, x1, n * 3), rng.uniform(y0, y1, n * 3)])
    tree = shapely.STRtree(regions)
    pi, ri = tree.query(shapely.points(pts), predicate="within")
    groups: list[list] = [[] for _ in regions]
    for p, r in zip(pi, ri, strict=True):
        groups[r].append(pts[p])
    out = []
    for r, g in enumerate(groups):
        if not g:
            pt = shapely.point_on_surface(regions[r])
            g = [np.array([pt.x, pt.y])]
        out.append(np.array(g))
    # Trim to n points in all, proportionally, keeping at least one per region.
    total = sum(len(g) for g in out)
    if total > n:
        keep = np.maximum(1, np.floor(np.array([len(g) for g in out]) * n / total)).astype(int)
        short = n - keep.sum()
        order = rng.permutation(len(out))
        for r in order:
            if short <= 0:
                break
            if keep[r] < len(out[r]):
                keep[r] += 1
                short -= 1
        out = [g[:k] for g, k in zip(out, keep, strict=True)]
    return out


def generate(n_grids: int, n_communities: int, seed: int = 7):
    """A city → 4 districts (no polygon: union of streets) → streets → communities → grids."""
    rng = np.random.default_rng(seed)
    city = box(*BBOX)
    n_streets = max(4, n_communities // 8)
    street_pts = _scatter(rng, [city], n_streets)[0]
    streets = _cells(street_pts, city)
    comm_pts = _scatter(rng, streets, n_communities)
    midx, midy = (BBOX[0] + BBOX[2]) / 2, (BBOX[1] + BBOX[3]) / 2
    areas = [(CITY_CODE, "基准市", None, city)]
    serial = {d: 0 for d in range(1, 5)}
    communities = []
    for s, street in enumerate(streets):
        c = street.centroid
        d = 1 + (c.x >= midx) + 2 * (c.y < midy)
        serial[d] += 1
        scode = f"{PREFIX}{d:02d}{serial[d]:03d}000"
        areas.append((scode, f"基准街道{s + 1}", f"{PREFIX}{d:02d}000000", street))
        for k, cell in enumerate(_cells(comm_pts[s], street), 1):
            code = scode[:9] + f"{k:03d}"
            areas.append((code, f"基准社区{code[-6:]}", scode, cell))
            communities.append((code, cell))
    for d in range(1, 5):
        areas.insert(1, (f"{PREFIX}{d:02d}000000", f"基准{d}区", CITY_CODE, None))
    grid_pts = _scatter(rng, [g for _c, g in communities], n_grids)
    grids = []
    for (ccode, cell), pts in zip(communities, grid_pts, strict=True):
        # Numbered west→east, north→south as in docs/domain.md §1.
        order = np.lexsort((pts[:, 0], -np.round(pts[:, 1], 3)))
        for k, g in enumerate(_cells(pts[order], cell), 1):
            grids.append([f"{ccode}{k:03d}", ccode, g])
    return areas, grids


def inject(grids: list, rng) -> list[dict]:
    """Known overlaps (a grid grows into its neighbour) and gaps (a hole cut into a grid)."""
    from civicgrid.territory.coverage import area_m2

    by_comm: dict[str, list[int]] = {}
    for i, (_code, ccode, _g) in enumerate(grids):
        by_comm.setdefault(ccode, []).append(i)
    comms = [c for c, ix in by_comm.items() if len(ix) >= 3]
    chosen = rng.choice(len(comms), N_OVERLAPS + N_GAPS, replace=False)
    expected = []
    for n, ci in enumerate(chosen):
        ix = by_comm[comms[ci]]
        if n < N_OVERLAPS:
            # Two grids sharing a real edge; a 25 m disk on the edge's midpoint is claimed by both.
            a = ix[0]
            b = next(
                j
                for j in ix[1:]
                if shapely.length(shapely.intersection(grids[a][2], grids[j][2])) > 1e-4
            )
            edge = shapely.intersection(grids[a][2], grids[b][2])
            mid = shapely.line_interpolate_point(shapely.line_merge(edge), 0.5, normalized=True)
            piece = shapely.intersection(grids[b][2], mid.buffer(0.00025))
            grids[a][2] = shapely.union(grids[a][2], piece)
            lo, hi = sorted([grids[a][0], grids[b][0]])
            expected.append(
                {"kind": "overlap", "a": lo, "b": hi, "area_m2": area_m2(piece), "geom": piece}
            )
        else:
            k = next(j for j in ix if not shapely.buffer(grids[j][2], -0.0006).is_empty)
            g = grids[k][2]
            centre = shapely.point_on_surface(shapely.buffer(g, -0.0006))
            hole = centre.buffer(0.0002)
            grids[k][2] = shapely.difference(g, hole)
            expected.append(
                {"kind": "gap", "parent": comms[ci], "area_m2": area_m2(hole), "geom": hole}
            )
    return expected


def load(areas: list, grids: list) -> None:
    from civicgrid.territory import codes
    from civicgrid.territory.models import Area, Grid

    with transaction.atomic():
        _bump()
        pks: dict[str, int] = {}
        for level in (codes.CITY, codes.COUNTY, codes.TOWNSHIP, codes.VILLAGE):
            objs = []
            for code, name, parent, geom in areas:
                if codes.area_level(code) != level:
                    continue
                obj = Area(code=code, name=name, level=level, parent_id=pks.get(parent))
                obj.set_geometry(geom)
                objs.append(obj)
            Area.objects.bulk_create(objs, batch_size=500)
            pks.update(
                Area.objects.filter(code__in=[o.code for o in objs]).values_list("code", "pk")
            )
        objs = []
        for code, ccode, geom in grids:
            obj = Grid(code=code, name=f"基准网格{code[-6:]}", area_id=pks[ccode], households=400)
            obj.set_geometry(geom)
            objs.append(obj)
        Grid.objects.bulk_create(objs, batch_size=1000)


def _bump() -> None:
    # Any grid geometry change bumps the territory version in the same transaction.
    from civicgrid.territory.models import TerritoryVersion

    TerritoryVersion.objects.get_or_create(id=1)
    TerritoryVersion.objects.filter(id=1).update(value=F("value") + 1)


def cleanup() -> None:
    """Delete the bench city with plain SQL.

    Nothing but this bench creates rows under 1498…, so there is nothing to cascade to; the ORM's
    delete would still visit every model that refers to areas or grids, whatever their state.
    """
    from django.db import connection

    from civicgrid.territory.models import Area, Grid

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {Grid._meta.db_table} WHERE code LIKE %s", [PREFIX + "%"])
        if cur.rowcount:
            _bump()
        for level in (4, 3, 2, 1):
            cur.execute(
                f"DELETE FROM {Area._meta.db_table} WHERE code LIKE %s AND level = %s",
                [PREFIX + "%", level],
            )


def naive(families: list) -> tuple[float, int, list]:
    """The obvious check: every pair intersected, every piece measured with Geod, no index."""
    from civicgrid.territory.coverage import area_m2

    t = time.perf_counter()
    pairs, found = 0, []
    for parent_code, parent, kids in families:
        for i in range(len(kids)):
            for j in range(i + 1, len(kids)):
                pairs += 1
                inter = kids[i][1].intersection(kids[j][1])
                if any(area_m2(p) >= 1.0 for p in shapely.get_parts(inter)):
                    found.append(("overlap", kids[i][0], kids[j][0]))
        gap = parent.difference(shapely.union_all([g for _c, g in kids]))
        if any(area_m2(p) >= 1.0 for p in shapely.get_parts(gap)):
            found.append(("gap", parent_code))
    return time.perf_counter() - t, pairs, found


def run(scale: str) -> list[dict]:
    from civicgrid.territory.coverage import check_all, check_coverage
    from civicgrid.territory.models import Area

    n_grids, n_comm = SIZES.get(scale, SIZES["full"])
    rng = np.random.default_rng(11)
    cleanup()
    t = time.perf_counter()
    areas, grids = generate(n_grids, n_comm)
    expected = inject(grids, rng)
    load(areas, grids)
    setup_s = time.perf_counter() - t
    try:
        root = Area.objects.get(code=CITY_CODE)
        check_all(root)  # warm-up: imports, pyproj transformer build
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            reports = check_all(root)
            runs.append(time.perf_counter() - t)
        seconds = min(runs)

        # Did it find exactly what was injected, with the right areas and places?
        overlaps = [(r.code, o) for r in reports for o in r.overlaps]
        gaps = [(r.code, g) for r in reports for g in r.gaps]
        spills = [o for r in reports for o in r.outside]
        matched = 0
        for e in expected:
            if e["kind"] == "overlap":
                hits = [o for _p, o in overlaps if (o.a, o.b) == (e["a"], e["b"])]
            else:
                hits = [g for p, g in gaps if p == e["parent"]]
            if (
                len(hits) == 1
                and abs(hits[0].area_m2 - e["area_m2"]) <= 0.005 * e["area_m2"]
                and e["geom"].buffer(1e-7).contains(shapely.Point(hits[0].lng, hits[0].lat))
            ):
                matched += 1
        false_positives = len(overlaps) + len(gaps) + len(spills) - matched

        # Baseline on a sample of communities (the injected ones included), extrapolated by pairs.
        by_comm: dict[str, list] = {}
        for code, ccode, geom in grids:
            by_comm.setdefault(ccode, []).append((code, geom))
        comm_geoms = {code: geom for code, _n, _p, geom in areas if len(by_comm.get(code, ())) > 0}
        injected_comms = {e["a"][:12] for e in expected if e["kind"] == "overlap"} | {
            e["parent"] for e in expected if e["kind"] == "gap"
        }
        others = [c for c in sorted(comm_geoms) if c not in injected_comms]
        picks = sorted(injected_comms) + [
            others[i]
            for i in rng.choice(
                len(others), SAMPLE[scale if scale in SAMPLE else "full"], replace=False
            )
        ]
        sample = [(c, comm_geoms[c], by_comm[c]) for c in picks]
        naive_s, naive_pairs, naive_found = naive(sample)
        all_pairs = sum(len(k) * (len(k) - 1) // 2 for k in by_comm.values())
        children: dict[str | None, int] = {}
        for _code, _n, parent, _g in areas:
            children[parent] = children.get(parent, 0) + 1
        all_pairs += sum(k * (k - 1) // 2 for p, k in children.items() if p is not None)
        naive_total = naive_s * all_pairs / naive_pairs
        fast_found = {("overlap", o.a, o.b) for p, o in overlaps if p in picks} | {
            ("gap", p) for p, _g in gaps if p in picks
        }
        agree = fast_found == set(naive_found)

        # One community, as the admin page does it.
        comm = Area.objects.get(code=picks[0])
        one = time_calls(lambda: check_coverage(comm), 20)
    finally:
        cleanup()

    target = 10.0 if n_grids >= 10_000 else 1.0
    label = f"{len(grids)} grids under {len(areas)} areas"
    return [
        measure(
            f"coverage.check_all_{len(grids)}_grids",
            seconds,
            "s",
            baseline=(
                f"naive pairwise shapely loop + Geod area, measured on {len(sample)} of "
                f"{len(by_comm)} communities ({naive_pairs} pairs, {naive_s:.2f} s) and "
                f"extrapolated by pair count to {all_pairs} pairs"
            ),
            baseline_value=naive_total,
            target=f"< {target:g} s ({label})",
            ok=seconds < target,
            runs_s=[round(r, 3) for r in runs],
            parents=len(reports),
            setup_s=round(setup_s, 2),
        ),
        measure(
            "coverage.injected_problems_found",
            matched,
            "problems",
            baseline="injected (area within 0.5 %, point inside)",
            baseline_value=len(expected),
            target=f"{len(expected)} of {len(expected)}, 0 false positives",
            ok=matched == len(expected) and false_positives == 0 and agree,
            false_positives=false_positives,
            naive_agrees_on_sample=agree,
        ),
        measure(
            "coverage.check_one_community_p50",
            percentile(one, 50) / 1000,
            "ms",
            # the admin's coverage page runs it on every open
            target="< 500 ms",
            ok=percentile(one, 50) / 1000 < 500,
            p99_ms=round(percentile(one, 99) / 1000, 2),
            grids=len(by_comm[picks[0]]),
        ),
    ]
