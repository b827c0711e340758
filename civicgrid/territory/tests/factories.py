"""Factories for territory. Boxes are small lng/lat rectangles near Datong (113.3E, 40.1N)."""

import factory
from shapely.geometry import box

from civicgrid.territory import codes
from civicgrid.territory.models import Area, Grid, MicroGrid


def square(x0: float, y0: float, size: float = 0.01):
    return box(x0, y0, x0 + size, y0 + size)


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"1402{n + 10:02d}000000")
    name = factory.Sequence(lambda n: f"区{n}")
    level = factory.LazyAttribute(lambda o: codes.area_level(o.code))
    parent = None

    @factory.post_generation
    def geom(obj, create, extracted, **kwargs):
        if extracted is not None:
            obj.set_geometry(extracted)
            if create:
                obj.save()


class GridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grid
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    area = factory.SubFactory(AreaFactory)
    code = factory.Sequence(lambda n: f"{n:03d}")
    name = factory.Sequence(lambda n: f"第{n}网格")
    kind = Grid.Kind.URBAN
    households = 400
    population = 1100

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        # A bare serial becomes area code + serial.
        if len(kwargs["code"]) == 3:
            kwargs["code"] = kwargs["area"].code + kwargs["code"]
        return kwargs

    @factory.post_generation
    def geom(obj, create, extracted, **kwargs):
        if extracted is not None:
            obj.set_geometry(extracted)
            if create:
                obj.save()


class MicroGridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MicroGrid

    grid = factory.SubFactory(GridFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.grid.code}{n % 99 + 1:02d}")
    name = factory.Sequence(lambda n: f"{n}号楼")
