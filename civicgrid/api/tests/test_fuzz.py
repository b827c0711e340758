"""Schemathesis over every operation of /api/openapi.json: no input gives a server error.

Runs as its own CI step (``bash scripts/fuzz.sh``; the marker ``fuzz`` keeps it out of the
ordinary suite). Each operation is exercised as an operator, a grid worker and anonymously,
in-process through the WSGI application, with a fixed seed (``derandomize``) and
``FUZZ_EXAMPLES`` examples per operation and persona.
"""

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from civicgrid.api.models import ApiToken
from civicgrid.cases import services
from civicgrid.cases.models import Category, HandlingLevel
from civicgrid.conftest import X0, Y0

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture
def fuzz_world(world):
    """The shared world plus categories and a few cases, so that codes and ids can resolve."""
    parent = Category.objects.create(code="04", name="市容环境")
    Category.objects.create(
        code="0401", name="乱堆乱放", parent=parent, handling_level=HandlingLevel.VILLAGE
    )
    for i in range(3):
        services.case_report(
            actor=world.worker_a1,
            category="0401",
            description=f"垃圾 {i}",
            lat=Y0 + 0.01,
            lng=X0 + 0.005,
            source="grid_worker",
        )
    world.tokens = {
        "operator": ApiToken.issue(user=world.operator_a, name="fuzz")[1],
        "grid_worker": ApiToken.issue(user=world.worker_a1, name="fuzz")[1],
        "anonymous": None,
    }
    return world


@pytest.mark.parametrize("persona", ["operator", "grid_worker", "anonymous"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error(case, persona, fuzz_world):
    token = fuzz_world.tokens[persona]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = case.call(headers=headers)
    assert response.status_code < 500, (
        f"{response.status_code} on {case.method} {case.formatted_path} "
        f"query={case.query!r} body={str(case.body)[:300]!r}: {response.text[:300]}"
    )
