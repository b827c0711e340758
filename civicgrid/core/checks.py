"""System checks: the CIVICGRID options parse, and every key in the dict is one somebody reads."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import conf


@checks.register(checks.Tags.compatibility)
def civicgrid_options(app_configs=None, **kwargs):
    raw = getattr(settings, "CIVICGRID", {})
    errors = []
    try:
        conf.parse(raw)
    except ImproperlyConfigured as exc:
        errors.append(checks.Error(str(exc), id="civicgrid.E001"))
    for key in conf.unknown_keys(raw):
        errors.append(
            checks.Warning(
                f'CIVICGRID["{key}"] is not an option civicgrid reads.',
                hint="See the option table in docs/operations.md.",
                id="civicgrid.W001",
            )
        )
    return errors
