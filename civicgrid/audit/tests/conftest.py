"""Case fixtures shared with the cases tests."""

from civicgrid.cases.tests.conftest import cats  # noqa: F401  (fixture)
