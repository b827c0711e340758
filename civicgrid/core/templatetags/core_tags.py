from django import template

register = template.Library()


@register.simple_tag
def calendar_warnings() -> list[str]:
    """Warnings for the admin home, e.g. a year missing from the holiday calendar."""
    from civicgrid.cases.calendar import calendar_warnings as warnings

    return warnings()


@register.simple_tag
def file_url(obj, thumb: bool = False, public: bool = False) -> str:
    """``{% file_url att thumb=True %}``: see civicgrid/core/files.py (``public``: signed)."""
    from civicgrid.core.files import file_url as build

    return build(obj, thumb=thumb, public=public)
