"""The fuzz module runs only when asked for (``-m fuzz``): it is a CI step of its own.
API tests reuse the field fixtures (categories, photos) on the shared world."""

from civicgrid.field.tests.conftest import _clean_cache, cats  # noqa: F401


def pytest_collection_modifyitems(config, items):
    if "fuzz" in (config.getoption("markexpr") or ""):
        return
    keep = [i for i in items if i.get_closest_marker("fuzz") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
