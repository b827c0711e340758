import factory

from civicgrid.people.models import Center, Department, GridMember, Role, RoleAssignment, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    password = factory.django.Password("pass-Word-123")


class CenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Center
        django_get_or_create = ("area",)

    name = factory.LazyAttribute(lambda o: f"{o.area.name}综治中心")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"部门{n}")


def assign(user, role: str, area, *, center=None, department=None) -> RoleAssignment:
    return RoleAssignment.objects.create(
        user=user, role=role, area=area, center=center, department=department
    )


def add_member(user, grid, worker_type="full_time", **kw) -> GridMember:
    return GridMember.objects.create(user=user, grid=grid, worker_type=worker_type, **kw)


__all__ = ["UserFactory", "CenterFactory", "DepartmentFactory", "assign", "add_member", "Role"]
