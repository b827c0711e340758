"""The one OpenAPI document must describe every endpoint with its own schemas."""

from collections import defaultdict

from ninja import Schema

import civicgrid.api.api  # noqa: F401  (mounts every app's router)


def _schema_classes(cls=Schema):
    for sub in cls.__subclasses__():
        yield sub
        yield from _schema_classes(sub)


def test_schema_class_names_are_unique_across_apps():
    """Ninja names OpenAPI components by class name only: two ``ReportOut`` classes in two apps
    silently share one component, and one endpoint is then documented with the other's fields."""
    modules = defaultdict(set)
    for cls in _schema_classes():
        if cls.__module__.startswith("civicgrid."):
            modules[cls.__name__].add(cls.__module__)
    clashes = {name: sorted(mods) for name, mods in modules.items() if len(mods) > 1}
    assert clashes == {}, f"rename one of each: {clashes}"


def test_openapi_document_is_served(client, db):
    doc = client.get("/api/openapi.json").json()
    assert doc["info"]["title"] == "civicgrid API"
    assert len(doc["paths"]) > 30
