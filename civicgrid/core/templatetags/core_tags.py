from django import template

register = template.Library()


@register.simple_tag
def calendar_warnings() -> list[str]:
    """Warnings for the admin home, e.g. a year missing from the holiday calendar."""
    from civicgrid.cases.calendar import calendar_warnings as warnings

    return warnings()
