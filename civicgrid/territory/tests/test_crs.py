"""WGS-84 ⇄ GCJ-02 ⇄ BD-09 against published reference pairs, round trips and bad input."""

import numpy as np
import pytest

from civicgrid.core.errors import DomainError
from civicgrid.territory import crs

# Algorithm fixtures: outputs of the standard published algorithm, reproduced to the last digit.
# wandergis/coordtransform, test/app.js (input 116.404, 39.915 as lng, lat for every function).
WANDERGIS_IN = (39.915, 116.404)
WANDERGIS_WGS_TO_GCJ = (39.91640428150164, 116.41024449916938)
WANDERGIS_GCJ_TO_BD = (39.92133699351021, 116.41036949371029)
# Same file: bd09togcj02 with Baidu's closed-form approximation. Our inverse iterates beyond it,
# so this one agrees only to the approximation's error (a few 1e-7 degrees).
WANDERGIS_BD_TO_GCJ_APPROX = (39.90865673957631, 116.39762729119315)

# googollee/eviltransform, python/test.py and go/transform_test.go: (wgsLat, wgsLng, gcjLat,
# gcjLng) for Shanghai, Shenzhen and Beijing.
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]

# Field fixtures: the same place read from real map services, 7 decimals, from
# hujiulong/gcoord test/fixtures/china-cities.json ([lng, lat] there; (lat, lng) here).
# (WGS84, GCJ02, BD09) per city. The services' GCJ-02 differs from the published polynomial by
# up to ~6e-6 degrees (< 1 m), so these are checked to 1e-5; BD-09 on top of GCJ-02 agrees to
# the 7-decimal rounding.
GCOORD_CITIES = {
    "驻马店": ((33.0133556, 114.0164322), (33.0115324, 114.022306), (33.0176697, 114.0287781)),
    "邢台": ((37.0700925, 114.498916), (37.0705911, 114.5048503), (37.0766797, 114.5113116)),
    "运城": ((35.0271663, 111.0017421), (35.0264171, 111.0075355), (35.0327206, 111.0139261)),
    "沈阳": ((41.8032629, 123.4253306), (41.8057023, 123.4314787), (41.8114013, 123.438095)),
    "酒泉": ((39.7319946, 98.4937175), (39.7328234, 98.4943595), (39.7388949, 98.5008441)),
    "那曲": ((31.4784436, 92.0499619), (31.4762063, 92.0512438), (31.4824421, 92.0576832)),
    "锡林浩特": ((43.9312805, 116.0414035), (43.9334573, 116.0482308), (43.9397782, 116.0546232)),
    "钦州": ((21.9828281, 108.6503952), (21.9799392, 108.6541485), (21.9856319, 108.6607283)),
}
FIELD_TOL = 1e-5
BD_TOL = 2e-7


def close(a, b, tol):
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol


def test_wgs_to_gcj_matches_the_published_algorithm_exactly():
    assert close(crs.wgs84_to_gcj02(*WANDERGIS_IN), WANDERGIS_WGS_TO_GCJ, 1e-12)
    for wlat, wlng, glat, glng in EVILTRANSFORM:
        assert close(crs.wgs84_to_gcj02(wlat, wlng), (glat, glng), 1e-12)


def test_gcj_to_bd_matches_the_published_algorithm_exactly():
    assert close(crs.gcj02_to_bd09(*WANDERGIS_IN), WANDERGIS_GCJ_TO_BD, 1e-12)


def test_bd_to_gcj_refines_the_published_approximation():
    got = crs.bd09_to_gcj02(*WANDERGIS_IN)
    assert close(got, WANDERGIS_BD_TO_GCJ_APPROX, 1e-6)
    # ...and, unlike the approximation, maps back onto its input.
    assert close(crs.gcj02_to_bd09(*got), WANDERGIS_IN, 1e-9)


def test_gcj_to_wgs_inverts_the_published_pairs_below_1e7_degrees():
    for wlat, wlng, glat, glng in EVILTRANSFORM:
        assert close(crs.gcj02_to_wgs84(glat, glng), (wlat, wlng), 1e-7)


@pytest.mark.parametrize("city", sorted(GCOORD_CITIES))
def test_real_service_pairs(city):
    wgs, gcj, bd = GCOORD_CITIES[city]
    assert close(crs.wgs84_to_gcj02(*wgs), gcj, FIELD_TOL)
    assert close(crs.gcj02_to_wgs84(*gcj), wgs, FIELD_TOL)
    assert close(crs.gcj02_to_bd09(*gcj), bd, BD_TOL)
    assert close(crs.bd09_to_gcj02(*bd), gcj, BD_TOL)
    assert close(crs.bd09_to_wgs84(*bd), wgs, FIELD_TOL)
    assert close(crs.wgs84_to_bd09(*wgs), bd, FIELD_TOL)
    assert close(crs.to_wgs84(*bd, "bd09"), wgs, FIELD_TOL)
    assert close(crs.to_wgs84(*gcj, "gcj02"), wgs, FIELD_TOL)


def test_round_trips_across_china_are_below_1e7_degrees():
    rng = np.random.default_rng(7)
    lats = rng.uniform(18.0, 53.0, 2000)
    lngs = rng.uniform(74.0, 134.0, 2000)
    for lat, lng in zip(lats[:300], lngs[:300], strict=True):
        assert close(crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lat, lng)), (lat, lng), 1e-7)
        assert close(crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lat, lng)), (lat, lng), 1e-7)
        assert close(crs.bd09_to_gcj02(*crs.gcj02_to_bd09(lat, lng)), (lat, lng), 1e-7)
    back_lat, back_lng = crs.gcj02_to_wgs84_array(*crs.wgs84_to_gcj02_array(lats, lngs))
    assert np.abs(back_lat - lats).max() < 1e-7 and np.abs(back_lng - lngs).max() < 1e-7
    back_lat, back_lng = crs.bd09_to_wgs84_array(*crs.wgs84_to_bd09_array(lats, lngs))
    assert np.abs(back_lat - lats).max() < 1e-7 and np.abs(back_lng - lngs).max() < 1e-7


def test_the_offset_is_hundreds_of_metres_inside_china():
    lat, lng = crs.wgs84_to_gcj02(40.1, 113.3)  # 大同
    assert 1e-3 < abs(lng - 113.3) < 1e-2
    assert crs.from_wgs84(40.1, 113.3, "gcj02") == (lat, lng)


@pytest.mark.parametrize(
    "lat,lng",
    [(48.8566, 2.3522), (35.6762, 139.6503), (-33.87, 151.21), (60.0, 100.0), (0.5, 110.0)],
)
def test_gcj_is_identity_outside_china(lat, lng):
    assert crs.wgs84_to_gcj02(lat, lng) == (lat, lng)
    assert crs.gcj02_to_wgs84(lat, lng) == (lat, lng)
    assert crs.to_wgs84(lat, lng, "gcj02") == (lat, lng)
    got_lat, got_lng = crs.wgs84_to_gcj02_array([lat], [lng])
    assert (got_lat[0], got_lng[0]) == (lat, lng)


def test_vectorised_forms_agree_with_scalar_forms():
    rng = np.random.default_rng(3)
    lats = np.concatenate([rng.uniform(18, 53, 200), [48.8566, -33.87]])
    lngs = np.concatenate([rng.uniform(74, 134, 200), [2.3522, 151.21]])
    pairs = [
        (crs.wgs84_to_gcj02, crs.wgs84_to_gcj02_array),
        (crs.gcj02_to_wgs84, crs.gcj02_to_wgs84_array),
        (crs.gcj02_to_bd09, crs.gcj02_to_bd09_array),
        (crs.bd09_to_gcj02, crs.bd09_to_gcj02_array),
        (crs.bd09_to_wgs84, crs.bd09_to_wgs84_array),
    ]
    for scalar, vector in pairs:
        vl, vg = vector(lats, lngs)
        for k in range(lats.size):
            assert close(scalar(lats[k], lngs[k]), (vl[k], vg[k]), 1e-9), scalar.__name__
    for name in crs.CRS_CHOICES:
        vl, vg = crs.to_wgs84_array(lats, lngs, name)
        assert close(crs.to_wgs84(lats[5], lngs[5], name), (vl[5], vg[5]), 1e-9)


@pytest.mark.parametrize("bad", ["utm", "", "EPSG:4326", None, 4326])
def test_unknown_crs_is_refused(bad):
    with pytest.raises(DomainError) as e:
        crs.to_wgs84(40.0, 113.0, bad)
    assert e.value.code == "invalid_crs" and e.value.field == "crs"
    with pytest.raises(DomainError) as e:
        crs.to_wgs84_array([40.0], [113.0], bad)
    assert e.value.code == "invalid_crs"


def test_crs_names_are_normalised():
    assert crs.to_wgs84(40.1, 113.3, "GCJ-02") == crs.to_wgs84(40.1, 113.3, "gcj02")
    assert crs.to_wgs84(40.1, 113.3, " WGS84 ") == (40.1, 113.3)


@pytest.mark.parametrize(
    "lat,lng,field",
    [
        (91, 113.0, "lat"),
        (-90.0001, 113.0, "lat"),
        (float("nan"), 113.0, "lat"),
        ("north", 113.0, "lat"),
        (None, 113.0, "lat"),
        (40.0, 180.5, "lng"),
        (40.0, float("inf"), "lng"),
        (40.0, "east", "lng"),
    ],
)
def test_out_of_range_coordinates_name_the_field(lat, lng, field):
    with pytest.raises(DomainError) as e:
        crs.to_wgs84(lat, lng, "wgs84")
    assert e.value.code == "invalid_coordinate" and e.value.field == field
    assert field in e.value.message


def test_array_validation_names_the_field_and_index():
    with pytest.raises(DomainError) as e:
        crs.to_wgs84_array([40.0, 40.0, 95.0], [113.0, 113.0, 113.0])
    assert e.value.field == "lat" and e.value.details["index"] == 2
    with pytest.raises(DomainError) as e:
        crs.to_wgs84_array([40.0, 40.0], [113.0, np.nan])
    assert e.value.field == "lng" and e.value.details["index"] == 1
    with pytest.raises(DomainError) as e:
        crs.to_wgs84_array([40.0, 40.0], [113.0])
    assert e.value.code == "invalid_coordinate"
