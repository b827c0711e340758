"""Public tests reuse the field fixtures (categories, points, photos) on the shared world."""

from civicgrid.field.tests.conftest import _clean_cache, cats  # noqa: F401
