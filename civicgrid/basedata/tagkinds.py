"""The built-in tag kinds of GB/T 31000 with their fields and default visit rules.

Used by the data migration (and by tests that rebuild them); admins change intervals and add X tags
afterwards in the admin.
"""

YES_NO = ["是", "否"]

BUILTIN = [
    # code, name, group, sensitive, visit_days, fields, rules
    ("left_behind_child", "留守儿童", "care", False, 90,
     [{"name": "guardian", "label": "监护人", "type": "text", "required": True}], []),
    ("left_behind_elderly", "留守老人", "care", False, 90, [], []),
    ("left_behind_women", "留守妇女", "care", False, 90, [], []),
    ("lonely_elderly", "独居老人", "care", False, 7,
     [{"name": "health", "label": "健康状况", "type": "choice", "choices": ["良好", "一般", "较差"]}], []),
    ("disabled", "残疾人", "care", False, 90,
     [{"name": "disability", "label": "残疾类别", "type": "choice", "required": True,
       "choices": ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]},
      {"name": "grade", "label": "残疾等级", "type": "int", "min": 1, "max": 4}], []),
    ("low_income", "低保/特困", "care", False, 90,
     [{"name": "scheme", "label": "类别", "type": "choice", "required": True, "choices": ["低保", "特困"]},
      {"name": "certificate", "label": "证号", "type": "text"}], []),
    ("veteran", "退役军人", "care", False, 90,
     [{"name": "discharged", "label": "退役时间", "type": "date"}], []),
    ("released", "刑满释放人员", "special", True, 90,
     [{"name": "release_date", "label": "释放日期", "type": "date", "required": True},
      {"name": "offence", "label": "原罪名", "type": "text"}],
     [{"date_field": "release_date", "within_days": 365, "interval_days": 30}]),
    ("community_correction", "社区矫正对象", "special", True, 7,
     [{"name": "start_date", "label": "矫正开始日期", "type": "date", "required": True},
      {"name": "end_date", "label": "矫正结束日期", "type": "date", "required": True}], []),
    ("mental_disorder", "严重精神障碍患者", "special", True, 90,
     [{"name": "risk_level", "label": "危险性评估等级", "type": "int", "required": True, "min": 0, "max": 5},
      {"name": "guardian", "label": "监护人", "type": "text"}],
     [{"field": "risk_level", "min_value": 3, "interval_days": 7}]),
    ("drug_user", "吸毒人员", "special", True, 90,
     [{"name": "status", "label": "管控状态", "type": "choice", "choices": ["社区戒毒", "社区康复", "戒断三年未复吸"]}], []),
    ("aids_risk", "艾滋病危险人员", "special", True, 90, [], []),
    ("idle_youth", "闲散青少年", "youth", True, 90, [], []),
    ("bad_behaviour_youth", "有不良行为青少年", "youth", True, 90,
     [{"name": "behaviour", "label": "不良行为", "type": "text"}], []),
    ("inmate_child", "服刑人员未成年子女", "youth", True, 90,
     [{"name": "guardian", "label": "监护人", "type": "text", "required": True}], []),
    ("street_youth", "流浪乞讨未成年人", "youth", True, 90, [], []),
]  # fmt: skip


def seed_tag_kinds(TagKind, VisitRule) -> None:
    for order, (code, name, group, sensitive, days, fields, rules) in enumerate(BUILTIN):
        kind, _ = TagKind.objects.update_or_create(
            code=code,
            defaults=dict(
                name=name,
                group=group,
                sensitive=sensitive,
                visit_days=days,
                fields=fields,
                builtin=True,
                order=order * 10,
            ),
        )
        VisitRule.objects.filter(kind=kind).delete()
        for i, rule in enumerate(rules):
            VisitRule.objects.create(kind=kind, order=(i + 1) * 10, **rule)


def ensure_builtin_data() -> None:
    """Put the built-in tag kinds, their visit rules and the province codes in place.

    The data migration does this once; a test database flushed by a transactional test (or a
    database restored without that migration's data) loses them, so the demo step and the tests
    call this first. Idempotent.
    """
    from .models import RegionCode, TagKind, VisitRule
    from .validators import PROVINCES

    if TagKind.objects.filter(builtin=True).count() < len(BUILTIN):
        seed_tag_kinds(TagKind, VisitRule)
    RegionCode.objects.bulk_create(
        [RegionCode(code=f"{p}0000", name=n) for p, n in PROVINCES.items()], ignore_conflicts=True
    )
