from django.db import migrations


def forward(apps, schema_editor):
    from civicgrid.basedata.tagkinds import seed_tag_kinds
    from civicgrid.basedata.validators import PROVINCES

    seed_tag_kinds(apps.get_model("basedata", "TagKind"), apps.get_model("basedata", "VisitRule"))
    RegionCode = apps.get_model("basedata", "RegionCode")
    RegionCode.objects.bulk_create(
        [RegionCode(code=f"{p}0000", name=n) for p, n in PROVINCES.items()], ignore_conflicts=True
    )


class Migration(migrations.Migration):
    dependencies = [("basedata", "0001_initial")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
