"""Demo step of the cases app: categories, admission lists, holidays, a few months of cases.

Cases are not pushed through the engine one by one (a million of them would take hours);
instead each case's life is *simulated* with the engine's own rules (``_Sim`` mirrors the field
changes of every action in ``civicgrid.cases.actions``) and written in bulk: PostgreSQL ``COPY``
or ``executemany`` on SQLite. Deadlines come from the same working-hours calendar (a minute
table built from the Holiday table), overdue clocks get the automatic supervision the sweep
would have made, and counters/version match the action log. ``tests/test_demo.py`` checks these
invariants on generated data.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import random
from collections import defaultdict, deque
from contextlib import contextmanager
from decimal import Decimal

import numpy as np
import shapely
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.people.models import Role, RoleAssignment

from . import calendar
from .models import (
    TRACKING_ALPHABET,
    TRACKING_LEN,
    AdmissionItem,
    Case,
    CaseAction,
    Category,
    ExtensionRequest,
    GridTask,
    HandlingLevel,
    SlaState,
    Source,
    Supervision,
    SuspensionRequest,
)

V, T, C = HandlingLevel.VILLAGE, HandlingLevel.TOWNSHIP, HandlingLevel.COUNTY
W, N = "working", "natural"
# code, name, handling level, department key, priority, response h, handling h, unit,
# self-closable, photo required.  Seeds: 小事 2 小时 / 费时事 2 天 / 复杂事 7 天 (7 h a day).
CATEGORIES = [
    ("01", "矛盾纠纷"),
    ("0101", "邻里纠纷", V, "SF", 2, 2, 14, W, True, False),
    ("0102", "婚姻家庭纠纷", V, "SF", 2, 2, 14, W, False, False),
    ("0103", "劳资纠纷", C, "RS", 3, 2, 49, W, False, False),
    ("0104", "物业纠纷", T, "ZJ", 2, 2, 49, W, False, False),
    ("02", "治安隐患"),
    ("0201", "可疑人员", T, "GA", 3, 1, 2, W, False, False),
    ("0202", "治安乱点", C, "GA", 3, 2, 14, W, False, True),
    ("0203", "黄赌毒线索", C, "GA", 4, 1, 14, W, False, False),
    ("03", "安全生产"),
    ("0301", "企业安全隐患", C, "YJ", 3, 2, 14, W, False, True),
    ("0302", "危化品违规存放", C, "YJ", 4, 0.5, 24, N, False, True),
    ("0303", "建筑施工安全", C, "ZJ", 3, 2, 14, W, False, True),
    ("04", "市容环境"),
    ("0401", "乱堆乱放", V, "ZF", 2, 2, 2, W, True, True),
    ("0402", "占道经营", T, "ZF", 2, 2, 14, W, True, True),
    ("0403", "违章建筑", T, "ZF", 2, 2, 49, W, False, True),
    ("0404", "垃圾清运不及时", V, "CG", 2, 2, 14, W, False, True),
    ("0405", "乱贴小广告", V, "ZF", 1, 2, 2, W, True, False),
    ("05", "公共设施"),
    ("0501", "井盖缺失破损", T, "GS", 4, 0.5, 4, N, False, True),
    ("0502", "路灯损坏", T, "GD", 2, 2, 14, W, False, True),
    ("0503", "道路破损", C, "JT", 2, 2, 49, W, False, True),
    ("0504", "供水管道漏水", C, "GS", 3, 1, 24, N, False, True),
    ("06", "民生服务"),
    ("0601", "困难群众救助", T, "MZ", 2, 2, 49, W, False, False),
    ("0602", "养老服务需求", V, "MZ", 2, 2, 14, W, False, False),
    ("0603", "就业社保咨询", T, "RS", 1, 2, 14, W, False, False),
    ("0604", "政策咨询", V, "MZ", 1, 2, 2, W, True, False),
    ("07", "特殊人群"),
    ("0701", "独居老人关爱", V, "MZ", 2, 2, 14, W, True, False),
    ("0702", "社区矫正对象异常", T, "SF", 3, 1, 14, W, False, False),
    ("0703", "精神障碍患者异常", T, "WJ", 4, 1, 14, W, False, False),
    ("08", "消防隐患"),
    ("0801", "消防通道堵塞", V, "YJ", 3, 1, 2, W, True, True),
    ("0802", "电动车违规充电", V, "YJ", 3, 1, 2, W, True, True),
    ("0803", "消防设施损坏", T, "YJ", 3, 2, 14, W, False, True),
]
# Never on the public square map: disputes, special groups, sensitive public-security items and
# the requests of one poor household (a private class hides all its items).
PRIVATE_CODES = {"01", "07", "0201", "0203", "0601"}
# How often each leaf is reported (grid workers mostly find 市容 and 消防 matters).
WEIGHTS = {
    "0101": 8, "0102": 3, "0103": 2, "0104": 4, "0201": 2, "0202": 1, "0203": 0.5,
    "0301": 2, "0302": 0.5, "0303": 1.5, "0401": 14, "0402": 9, "0403": 3, "0404": 6,
    "0405": 5, "0501": 2, "0502": 4, "0503": 2, "0504": 1.5, "0601": 3, "0602": 2,
    "0603": 2, "0604": 4, "0701": 3, "0702": 0.7, "0703": 0.8, "0801": 5, "0802": 5,
    "0803": 2,
}  # fmt: skip
DESCRIPTIONS = {
    "0101": ["楼上住户漏水与楼下发生争执", "两户因公共走廊堆物发生口角", "邻里因噪音问题多次争吵"],
    "0102": ["夫妻因赡养老人问题发生纠纷", "家庭成员因房产分割发生争执"],
    "0103": ["工地二十余名工人反映被拖欠工资", "商户员工反映未按时发放工资"],
    "0104": ["小区业主与物业因停车收费发生纠纷", "业主反映物业长期不维修电梯"],
    "0201": ["深夜有陌生人在小区内多次徘徊", "有人在单元门口撬锁"],
    "0202": ["夜市周边经常有人酒后滋事"],
    "0203": ["某出租屋疑似有人聚众赌博"],
    "0301": ["小作坊消防器材过期，电线私拉乱接", "企业厂房内安全通道被货物堵塞"],
    "0302": ["居民楼底商存放多桶汽油"],
    "0303": ["施工工地未设置安全围挡", "脚手架工人未系安全带高空作业"],
    "0401": ["楼道内堆放大量纸箱杂物", "小区空地堆放建筑垃圾", "单元门口堆放废旧家具"],
    "0402": ["商户占用人行道摆摊经营", "早市摊贩占道影响通行"],
    "0403": ["一楼住户私自搭建彩钢房", "楼顶加盖违章建筑"],
    "0404": ["垃圾桶满溢三天未清运", "小区垃圾站异味严重"],
    "0405": ["单元门和电线杆上贴满小广告", "墙面喷涂办证电话"],
    "0501": ["人行道井盖缺失，存在安全隐患", "路口雨水井盖破损下陷"],
    "0502": ["小区主干道路灯不亮", "连续五盏路灯损坏"],
    "0503": ["路面塌陷形成大坑", "人行道地砖大面积松动"],
    "0504": ["路边供水管道破裂漏水", "小区水表井漏水"],
    "0601": ["低保户家中屋顶漏雨需要帮助", "残疾人家庭生活困难申请救助"],
    "0602": ["高龄老人申请助餐服务", "独居老人希望上门助浴"],
    "0603": ["失业人员咨询失业保险金领取", "居民咨询城乡居民养老保险缴费"],
    "0604": ["居民咨询老旧小区改造政策", "咨询电动车上牌政策"],
    "0701": ["独居老人两天未出门，电话无人接听", "定期走访独居老人，发现其身体不适"],
    "0702": ["社区矫正对象未按时报到"],
    "0703": ["精神障碍患者情绪异常，家属求助"],
    "0801": ["小区消防通道被私家车占用", "楼道堆物堵塞安全出口"],
    "0802": ["居民将电动车推入楼道充电", "从楼上飞线给电动车充电"],
    "0803": ["楼道消防栓无水", "灭火器过期未更换"],
}
RESULTS = ["已现场处理完毕", "已协调相关单位处理", "已清理完毕，恢复原状", "已调解，双方达成一致",
           "已维修完成", "已上门走访并落实帮扶措施"]  # fmt: skip
SOURCES = [
    (Source.GRID_WORKER, 52), (Source.PATROL, 8), (Source.CITIZEN, 16), (Source.HOTLINE, 15),
    (Source.DEPARTMENT, 4), (Source.ONE_KEY, 3), (Source.API, 2),
]  # fmt: skip

# 事项准入清单.  Seed 1: one county slimmed to 6 classes / 17 items.
ADMISSION_COUNTY = [
    ("信息采集类", "GA", "实有人口信息采集与更新", "《居住证暂行条例》第五条"),
    ("信息采集类", "GA", "出租房屋及承租人信息登记", "《山西省流动人口服务管理条例》"),
    ("信息采集类", "MZ", "特殊困难群体信息摸排", "《社会救助暂行办法》第四十六条"),
    ("矛盾排查类", "SF", "矛盾纠纷排查与信息报送", "《中华人民共和国人民调解法》第八条"),
    ("矛盾排查类", "SF", "社区矫正对象日常走访", "《中华人民共和国社区矫正法》第二十五条"),
    ("矛盾排查类", "GA", "涉稳重点人员动态掌握", "《信访工作条例》第二十一条"),
    ("安全巡查类", "YJ", "九小场所安全隐患巡查", "《中华人民共和国安全生产法》第七十七条"),
    ("安全巡查类", "YJ", "居民楼道消防通道巡查", "《中华人民共和国消防法》第三十二条"),
    ("安全巡查类", "ZJ", "自建房安全隐患排查", "《城镇房屋安全管理条例》"),
    ("民生服务类", "MZ", "独居高龄老人定期探访", "《中华人民共和国老年人权益保障法》第三十一条"),
    ("民生服务类", "RS", "城乡居民养老保险政策宣传", "《中华人民共和国社会保险法》第二十条"),
    ("民生服务类", "WJ", "严重精神障碍患者随访协助", "《中华人民共和国精神卫生法》第五十五条"),
    ("宣传引导类", "SF", "法治宣传进网格", "《中华人民共和国宪法》第二十四条"),
    ("宣传引导类", "YJ", "防灾减灾知识宣传", "《中华人民共和国突发事件应对法》第二十九条"),
    ("协助执法类", "CG", "违法建设线索发现报告", "《中华人民共和国城乡规划法》第五十三条"),
    ("协助执法类", "HB", "环境污染线索发现报告", "《中华人民共和国环境保护法》第五十七条"),
    ("协助执法类", "SJ", "食品安全隐患线索报告", "《中华人民共和国食品安全法》第十二条"),
]
# Seed 2: another county admitted 11 departments / 43 items.
ADMISSION_DEPARTMENTS = {
    "GA": ["实有人口登记", "出租房屋信息核查", "重点人员动态掌握", "治安隐患巡查"],
    "MZ": ["低保对象入户核查", "特困人员探访", "高龄津贴资格核实", "留守儿童关爱走访"],
    "SF": ["矛盾纠纷排查", "社区矫正对象走访", "刑满释放人员帮教", "法治宣传"],
    "YJ": ["九小场所安全巡查", "防汛隐患点巡查", "森林防火宣传", "应急避难场所巡查"],
    "WJ": ["严重精神障碍患者随访", "老年人健康体检通知", "爱国卫生运动宣传", "传染病防控排查"],
    "RS": ["养老保险政策宣传", "就业困难人员摸排", "欠薪线索报告", "技能培训信息推送"],
    "ZJ": ["自建房安全排查", "老旧小区改造意见收集", "物业服务问题收集", "燃气使用安全宣传"],
    "CG": ["违法建设线索报告", "占道经营劝导", "生活垃圾分类宣传", "户外广告隐患巡查"],
    "HB": ["环境污染线索报告", "秸秆禁烧巡查", "散煤治理核查", "河道垃圾巡查"],
    "SJ": ["食品安全隐患报告", "特种设备隐患报告", "价格违法线索报告", "三小行业信息采集"],
    "JY": ["适龄儿童入学摸底", "校园周边安全巡查", "控辍保学走访"],
}
LEGAL = {
    "GA": "《中华人民共和国治安管理处罚法》", "MZ": "《社会救助暂行办法》",
    "SF": "《中华人民共和国人民调解法》", "YJ": "《中华人民共和国安全生产法》",
    "WJ": "《中华人民共和国基本医疗卫生与健康促进法》", "RS": "《中华人民共和国社会保险法》",
    "ZJ": "《城镇房屋安全管理条例》", "CG": "《城市市容和环境卫生管理条例》",
    "HB": "《中华人民共和国环境保护法》", "SJ": "《中华人民共和国食品安全法》",
    "JY": "《中华人民共和国义务教育法》",
}  # fmt: skip

SOURCE_VALUES = [s for s, _w in SOURCES]
DAYS_BACK = 120
HELD_STATES = ["reported", "filed", "assigned", "in_progress", "handled", "suspended", "rejected"]
HOURLY = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 8, 10, 12, 13, 12, 10, 7, 5, 4, 3, 2, 1]
SWEEP_DELAY = dt.timedelta(minutes=1)
CHUNK = 20_000


def seed(ctx) -> None:
    cats = seed_categories(ctx)
    items = seed_admission(ctx)
    calendar.seed_from_package()
    ctx.extra["categories"] = cats
    ctx.extra["admission_items"] = items
    ctx.log(f"  {len(cats)} categories, {len(items)} admission items, holiday calendar")
    if ctx.cases:
        n = generate_cases(ctx, ctx.cases)
        ctx.log(f"  {n} cases with their action logs")
    seed_grid_tasks(ctx, items)


def seed_categories(ctx) -> dict[str, Category]:
    out: dict[str, Category] = {}
    for row in CATEGORIES:
        if len(row) == 2:
            cat, _created = Category.objects.get_or_create(code=row[0], defaults={"name": row[1]})
        else:
            code, name, level, key, prio, resp, handle, unit, selfc, photo = row
            try:
                dept = ctx.department(key, ctx.city.code) if ctx.city else None
            except KeyError:
                dept = None
            cat, _created = Category.objects.get_or_create(
                code=code,
                defaults=dict(
                    name=name,
                    parent=out[code[:2]],
                    handling_level=level,
                    default_department=dept,
                    priority=prio,
                    response_limit=Decimal(str(resp)),
                    handling_limit=Decimal(str(handle)),
                    sla_unit=unit,
                    self_closable=selfc,
                    photo_required=photo,
                ),
            )
        if cat.code in PRIVATE_CODES and not cat.is_private:
            cat.is_private = True
            cat.save(update_fields=["is_private"])
        out[cat.code] = cat
    return out


def seed_admission(ctx) -> list[AdmissionItem]:
    if len(ctx.districts) < 4:
        return []
    items = []
    county_a, county_b = ctx.districts[2], ctx.districts[3]
    for i, (klass, key, name, basis) in enumerate(ADMISSION_COUNTY, start=1):
        dept = ctx.department(key, county_a.code)
        items.append((dept, f"ZR-{i:02d}", name, klass, basis))
    serial = 0
    for key, names in ADMISSION_DEPARTMENTS.items():
        dept = ctx.department(key, county_b.code)
        for name in names:
            serial += 1
            items.append((dept, f"ZR-{serial:02d}", name, "", LEGAL[key]))
    out = []
    for dept, code, name, klass, basis in items:
        obj, _created = AdmissionItem.objects.get_or_create(
            department=dept,
            code=code,
            defaults={"name": name, "item_class": klass, "legal_basis": basis},
        )
        out.append(obj)
    return out


def seed_grid_tasks(ctx, items: list[AdmissionItem]) -> None:
    """A few tasks pushed by the admitting counties' departments to their grids' workers."""
    if not items:
        return
    rng = ctx.rng_for("cases-tasks")
    by_county = defaultdict(list)
    for g in ctx.grids:
        by_county[g.code[:6]].append(g)
    rows = []
    for item in items:
        grids = by_county.get(item.department.area.code[:6]) or []
        for g in rng.sample(grids, min(3, len(grids))):
            worker = ctx.grid_workers.get(g.code)
            if worker is None:
                continue
            created = ctx.now - dt.timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 9))
            deadline = created + dt.timedelta(days=rng.choice([3, 7, 14]))
            done = deadline < ctx.now or rng.random() < 0.4
            rows.append(
                GridTask(
                    department=item.department,
                    item=item,
                    grid=g,
                    scope_code=g.code,
                    worker=worker,
                    title=item.name,
                    description=f"{item.department.name}下派：{item.name}",
                    deadline=deadline,
                    state="done" if done else "open",
                    result="已按要求完成" if done else "",
                    completed_at=min(deadline, ctx.now) if done else None,
                )
            )
    GridTask.objects.bulk_create(rows, batch_size=500)
    # created_at is auto_now_add; spread it back in time like the deadlines.
    ctx.log(f"  {len(rows)} grid tasks")


# --- the calendar as a minute table ------------------------------------------------------------


class MinuteClock:
    """``calendar.add_hours`` for many cases: cumulative working minutes per minute boundary."""

    def __init__(self, start: dt.datetime, end: dt.datetime):
        tz = timezone.get_current_timezone()
        self.t0 = dt.datetime.combine(timezone.localtime(start, tz).date(), dt.time(0), tz)
        days = (end - self.t0).days + 2
        periods = [
            (a.hour * 60 + a.minute, b.hour * 60 + b.minute) for a, b in calendar.work_periods()
        ]
        day_mask = np.zeros(1440, dtype=np.int32)
        for a, b in periods:
            day_mask[a:b] = 1
        work = np.zeros(days * 1440, dtype=np.int32)
        for d in range(days):
            if calendar.is_workday((self.t0 + dt.timedelta(days=d)).date()):
                work[d * 1440 : (d + 1) * 1440] = day_mask
        self.cum = np.concatenate([[0], np.cumsum(work)]).tolist()
        self.size = len(self.cum)

    def _idx(self, t: dt.datetime) -> int:
        return int((t - self.t0).total_seconds() // 60)

    def _at(self, i: int) -> dt.datetime:
        return self.t0 + dt.timedelta(minutes=i)

    def add(self, start: dt.datetime, hours: float, unit: str) -> dt.datetime:
        if unit != W or hours == 0:
            return start + dt.timedelta(hours=hours)
        i = self._idx(start)
        if not 0 <= i < self.size or start.second or start.microsecond:
            return calendar.add_hours(start, hours, unit)
        minutes = round(hours * 60)
        if hours > 0:
            j = bisect.bisect_left(self.cum, self.cum[i] + minutes, lo=i)
            if j >= self.size:
                return calendar.add_hours(start, hours, unit)
            return self._at(j)
        j = bisect.bisect_right(self.cum, self.cum[i] + minutes, hi=i + 1) - 1
        return self._at(j) if j >= 0 else calendar.add_hours(start, hours, unit)


# --- simulation --------------------------------------------------------------------------------


def _track_code(rng: random.Random, used: set[str]) -> str:
    while True:
        code = "".join(rng.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LEN))
        if code not in used:
            used.add(code)
            return code


class _Sim:
    """One case's life with the engine's field changes (see civicgrid.cases.actions)."""

    OPEN = {"reported", "filed", "assigned", "in_progress", "handled", "suspended"}

    def __init__(self, gen, c: dict):
        self.g = gen
        self.c = c
        self.actions: list[tuple] = []
        self.supervisions: list[tuple] = []
        self.extensions: list[tuple] = []
        self.suspensions: list[tuple] = []
        self.t = c["reported_at"]
        self.ended_at: dt.datetime | None = None  # first close/reject/merge
        # The newest cases are held in a given state so that a small demo still shows every
        # state (with a few thousand cases a case spends minutes in some states).
        self.halt: str | None = None
        self.halted = False

    def open_at(self, t: dt.datetime) -> bool:
        return self.c["reported_at"] <= t and (self.ended_at is None or self.ended_at > t)

    # clocks ----------------------------------------------------------------------------------
    def _clock(self, due, limit, t):
        c, unit = self.c, self.cat["unit"]
        if due is None:
            c.update(sla_due_at=None, sla_warn_at=None, sla_state=SlaState.NORMAL)
            return
        warn = self.g.clock.add(due, -0.2 * limit, unit)
        c.update(
            sla_due_at=due,
            sla_warn_at=warn,
            sla_state=SlaState.WARNING if t >= warn else SlaState.NORMAL,
        )

    def response_clock(self, t):
        due = self.g.clock.add(t, self.cat["resp"], self.cat["unit"])
        self.c["response_due"] = due
        self._clock(due, self.cat["resp"], t)

    def handling_clock(self, t):
        due = self.g.clock.add(t, self.cat["handle"], self.cat["unit"])
        self.c.update(handling_due=due, final_due=due)
        self._clock(due, self.cat["handle"], t)

    # the sweep -------------------------------------------------------------------------------
    def sweep_until(self, t):
        c = self.c
        due = c["sla_due_at"]
        if (
            due is not None
            and c["state"] in self.OPEN
            and c["sla_state"] != SlaState.OVERDUE
            and due + SWEEP_DELAY <= t
        ):
            when = due + SWEEP_DELAY
            note = _("Automatic supervision: the deadline %(due)s has passed.") % {
                "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
            }
            self.log(
                "supervise",
                when,
                None,
                "system",
                note,
                {"auto": True},
                supervision_count=c["supervision_count"] + 1,
                sla_state=SlaState.OVERDUE,
            )
            self.supervisions.append(
                (c["id"], "overdue", None, c["department_id"], note, when, None)
            )
        elif (
            due is not None
            and c["state"] in self.OPEN
            and c["sla_state"] == SlaState.NORMAL
            and c["sla_warn_at"] <= t
        ):
            c["sla_state"] = SlaState.WARNING

    # actions ---------------------------------------------------------------------------------
    def log(self, action, t, actor, role, note="", data=None, *, to=None, touch=True, **changes):
        c = self.c
        frm = "" if action == "report" else c["state"]
        to_state = to or frm
        if touch:
            c.update(changes)
            c["state"] = to_state
            c["version"] += 1
            c["updated_at"] = t
            if to_state in ("closed", "rejected", "merged") and self.ended_at is None:
                self.ended_at = t
        self.actions.append(
            (
                c["id"],
                action,
                actor,
                role,
                frm,
                to_state,
                note,
                json.dumps(data or {}, ensure_ascii=False),
                t,
            )
        )
        if role in ("handler", "assignee"):
            for i, s in enumerate(self.supervisions):
                if s[6] is None:
                    self.supervisions[i] = s[:6] + (t,)
        self.t = t

    def step(self, t, action, actor, role, note="", data=None, **kw) -> bool:
        """Run ``action`` at ``t`` unless ``t`` is after now or the case is held in its
        snapshot state (then the case stays put)."""
        if t > self.g.now or self.halted:
            return False
        self.sweep_until(t)
        self.log(action, t, actor, role, note, data, **kw)
        if self.halt is not None and self.c["state"] == self.halt:
            self.halted = True
        return True


class _Generator:
    def __init__(self, ctx, n: int):
        self.ctx = ctx
        self.rng = ctx.rng_for("cases")
        self.now = ctx.now.replace(second=0, microsecond=0)
        self.start = self.now - dt.timedelta(days=DAYS_BACK)
        self.clock = MinuteClock(
            self.start - dt.timedelta(days=1), self.now + dt.timedelta(days=90)
        )
        self.cats = []
        for row in CATEGORIES:
            if len(row) == 2:
                continue
            code, name, level, key, prio, resp, handle, unit, selfc, photo = row
            cat = Category.objects.get(code=code)
            self.cats.append(
                dict(
                    obj=cat,
                    id=cat.pk,
                    code=code,
                    level=level,
                    key=key,
                    prio=prio,
                    resp=float(cat.response_limit),
                    handle=float(cat.handling_limit),
                    unit=cat.sla_unit,
                    selfc=cat.self_closable,
                )
            )
        self.cat_weights = list(itertools.accumulate(WEIGHTS[c["code"]] for c in self.cats))
        self.dept_cache: dict = {}
        self.grids = list(ctx.grids)
        self.grid_weights = list(itertools.accumulate(max(g.households, 30) for g in self.grids))
        self.source_weights = list(itertools.accumulate(w for _, w in SOURCES))
        self.operators = defaultdict(list)
        self.handlers = defaultdict(list)
        for ra in RoleAssignment.objects.filter(role__in=[Role.OPERATOR, Role.HANDLER]).values(
            "role", "user_id", "center_id", "department_id"
        ):
            if ra["role"] == Role.OPERATOR and ra["center_id"]:
                self.operators[ra["center_id"]].append(ra["user_id"])
            elif ra["role"] == Role.HANDLER and ra["department_id"]:
                self.handlers[ra["department_id"]].append(ra["user_id"])
        self.citizen = ctx.accounts.get("citizen")
        self.points: dict[int, list[tuple[float, float]]] = {}
        self.used_codes: set[str] = set(Case.objects.values_list("tracking_code", flat=True))
        self.ring: deque[_Sim] = deque(maxlen=400)  # the latest reports, for duplicates
        self.grid_by_pk = {g.pk: g for g in self.grids}
        self.areas = {a.pk: a for a in ctx.communities}

    def points_in(self, grid) -> list[tuple[float, float]]:
        pts = self.points.get(grid.pk)
        if pts is None:
            geom = grid.geometry
            rng = self.rng
            pts = []
            if geom is not None:
                x0, y0, x1, y1 = geom.bounds
                xs = np.array([rng.uniform(x0, x1) for _ in range(40)])
                ys = np.array([rng.uniform(y0, y1) for _ in range(40)])
                inside = shapely.contains_xy(geom, xs, ys)
                pts = [(float(y), float(x)) for x, y, ok in zip(xs, ys, inside, strict=True) if ok]
                if not pts:
                    p = geom.representative_point()
                    pts = [(p.y, p.x)]
            else:
                pts = [(40.1, 113.3)]
            self.points[grid.pk] = pts[:12]
        return self.points[grid.pk]

    def center_at(self, grid_code: str, level: int):
        return self.ctx.center_for(grid_code[: {2: 6, 3: 9, 4: 12}[level]])

    def parent_center(self, center):
        code = center.area.code
        for n in (9, 6, 4):
            prefix = code[:n]
            if prefix.ljust(12, "0") != code and len(code.rstrip("0")) > n:
                try:
                    return self.ctx.center_for(prefix)
                except KeyError:
                    continue
        return None

    def chunk_times(self, first: int, size: int, total: int) -> list[dt.datetime]:
        """Report times for cases ``first .. first+size`` in order: ids follow time, so the
        previous report of a matter is always an earlier id."""
        rng, window = self.rng, DAYS_BACK * 86400
        lo = self.start + dt.timedelta(seconds=window * first / total)
        span = window * size / total
        out = []
        while len(out) < size:
            t = lo + dt.timedelta(seconds=rng.random() * span)
            # Reports follow the working day (few at night).
            if rng.random() * 14 <= HOURLY[timezone.localtime(t).hour]:
                out.append(min(t.replace(second=0, microsecond=0), self.now))
        out.sort()
        return out

    # one case --------------------------------------------------------------------------------
    def make(self, case_id: int, t: dt.datetime, halt: str | None = None) -> _Sim:
        rng, ctx = self.rng, self.ctx
        dup = self.duplicate_of(t) if rng.random() < 0.04 and halt is None else None
        if dup is not None:  # a second report of a matter still open (并单 candidates)
            cat = dup.cat
            grid = self.grid_by_pk[dup.c["grid_id"]]
            lat, lng = dup.c["lat"], dup.c["lng"]
        else:
            cat = rng.choices(self.cats, cum_weights=self.cat_weights)[0]
            grid = rng.choices(self.grids, cum_weights=self.grid_weights)[0]
            lat, lng = rng.choice(self.points_in(grid))
        source = rng.choices(SOURCE_VALUES, cum_weights=self.source_weights)[0]
        worker = ctx.grid_workers.get(grid.code)
        if source in (Source.GRID_WORKER, Source.PATROL) and worker is None:
            source = Source.CITIZEN
        owner = self.center_at(grid.code, cat["level"])
        reporter_id, name, phone, role, actor = None, "", "", "citizen", None
        if source in (Source.GRID_WORKER, Source.PATROL):
            reporter_id, role, actor = worker.pk, "grid_worker", worker.pk
        elif source == Source.CITIZEN and self.citizen is not None and rng.random() < 0.2:
            reporter_id, actor = self.citizen.pk, self.citizen.pk
        elif source == Source.HOTLINE:
            ops = self.operators.get(owner.pk) or [None]
            role, actor = "operator", rng.choice(ops)
            name, phone = (
                rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(["先生", "女士"]),
                f"13{rng.randrange(10**9):09d}",
            )
        elif source == Source.DEPARTMENT:
            dept = self.dept_for(cat, grid)
            hs = self.handlers.get(dept.pk) or [None]
            role, actor, reporter_id = "handler", hs[0], hs[0]
        else:
            role, phone = "anonymous", f"15{rng.randrange(10**9):09d}"
        flow = (
            "service" if cat["code"] in ("0602", "0701", "0604") and rng.random() < 0.5 else "case"
        )
        c = dict(
            id=case_id,
            tracking_code=_track_code(rng, self.used_codes),
            flow=flow,
            category_id=cat["id"],
            description=rng.choice(DESCRIPTIONS[cat["code"]]),
            lat=lat,
            lng=lng,
            address=f"{grid.name}附近",
            grid_id=grid.pk,
            micro_grid_id=None,
            area_id=grid.area_id,
            scope_code=grid.code,
            source=source,
            priority=cat["prio"],
            owner_id=owner.pk,
            owner_code=owner.area.code,
            department_id=None,
            worker_id=None,
            reporter_id=reporter_id,
            reporter_name=name,
            reporter_phone=phone,
            client_id=f"demo-{case_id:08d}" if source == Source.GRID_WORKER else None,
            state="reported",
            version=1,
            response_due=None,
            handling_due=None,
            final_due=None,
            sla_due_at=None,
            sla_warn_at=None,
            sla_state=SlaState.NORMAL,
            rework_count=0,
            extension_count=0,
            supervision_count=0,
            return_count=0,
            dispatch_count=0,
            escalation_count=0,
            reopen_count=0,
            self_closed=False,
            reported_at=t,
            filed_at=None,
            dispatched_at=None,
            signed_at=None,
            handled_at=None,
            closed_at=None,
            suspended_at=None,
            suspended_review_date=None,
            updated_at=t,
            result="",
            satisfaction=None,
            rating_text="",
            rated_at=None,
            merged_into_id=None,
        )
        sim = _Sim(self, c)
        sim.cat = cat
        sim.dup = dup
        sim.halt = halt
        sim.halted = halt == "reported"
        sim.response_clock(t)
        sim.log(
            "report",
            t,
            actor,
            role,
            "",
            {"source": source, "category": cat["code"], "scope_code": grid.code},
            to="reported",
            touch=False,
        )
        c["state"] = "reported"
        self.live(sim, cat, grid, owner, worker)
        sim.sweep_until(self.now)
        self.ring.append(sim)
        return sim

    def duplicate_of(self, t: dt.datetime) -> _Sim | None:
        for _try in range(5):
            if not self.ring:
                return None
            s = self.rng.choice(self.ring)
            if t - s.c["reported_at"] <= dt.timedelta(hours=72) and s.open_at(t):
                return s
        return None

    def dept_for(self, cat, grid):
        key = (cat["key"], grid.code)
        dept = self.dept_cache.get(key)
        if dept is None:
            try:
                dept = self.ctx.department(cat["key"], grid.code)
            except KeyError:
                dept = self.ctx.department("CG", grid.code)
            self.dept_cache[key] = dept
        return dept

    def op(self, c) -> int | None:
        ops = self.operators.get(c["owner_id"])
        return self.rng.choice(ops) if ops else None

    def after(self, sim, hours: float, unit: str | None = None) -> dt.datetime:
        """A moment ``hours`` after the last action (working hours for working-hour categories)."""
        # Whole minutes: the minute table then reproduces calendar.add_hours exactly.
        t = self.clock.add(sim.t, hours, unit or sim.cat["unit"])
        return t.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)

    def live(self, sim, cat, grid, owner, worker) -> None:
        rng, c = self.rng, sim.c
        lim_r = cat["resp"]
        # 自办自结: most self-closable matters found by the grid worker end on the spot.
        if (
            cat["selfc"]
            and c["source"] in (Source.GRID_WORKER, Source.PATROL)
            and rng.random() < 0.6
            and sim.halt is None
        ):
            t = c["reported_at"] + dt.timedelta(minutes=rng.randint(5, 90))
            sim.step(
                t,
                "self_close",
                worker.pk,
                "grid_worker",
                rng.choice(RESULTS),
                {"attachments": 1},
                to="closed",
                result=rng.choice(RESULTS),
                closed_at=t,
                self_closed=True,
                sla_due_at=None,
                sla_warn_at=None,
                sla_state=SlaState.NORMAL,
            )
            return
        # intake: a few escalations, rejections and merges, then acceptance
        if rng.random() < 0.03:
            parent = self.parent_center(owner)
            t = self.after(sim, lim_r * rng.uniform(0.1, 0.6))
            if parent is not None and self.op(c) is not None:
                if not sim.step(
                    t,
                    "escalate",
                    self.op(c),
                    "operator",
                    "需上级统筹协调",
                    {"from_center": owner.area.code, "to_center": parent.area.code},
                    to="reported",
                    owner_id=parent.pk,
                    owner_code=parent.area.code,
                    escalation_count=c["escalation_count"] + 1,
                ):
                    return
                sim.response_clock(t)
        fate = rng.random()
        late = rng.random() >= 0.9
        t = self.after(sim, lim_r * (rng.uniform(1.0, 2.5) if late else rng.uniform(0.05, 0.9)))
        if fate < 0.03 or sim.halt == "rejected":
            sim.step(
                t,
                "reject",
                self.op(c),
                "operator",
                "不属于受理范围，已告知来电人",
                {},
                to="rejected",
                sla_due_at=None,
                sla_warn_at=None,
                sla_state=SlaState.NORMAL,
            )
            return
        dup = getattr(sim, "dup", None)
        if dup is not None and dup.open_at(t) and rng.random() < 0.6:
            # 并单: the earlier report of the same matter is still open at this moment.
            sim.step(
                t,
                "merge",
                self.op(c),
                "operator",
                "",
                {"target": dup.c["tracking_code"]},
                to="merged",
                merged_into_id=dup.c["id"],
                sla_due_at=None,
                sla_warn_at=None,
                sla_state=SlaState.NORMAL,
            )
            return
        if not sim.step(
            t,
            "accept",
            self.op(c),
            "operator",
            "",
            {"category": cat["code"], "priority": c["priority"]},
            to="filed",
            filed_at=c["filed_at"] or t,
        ):
            return
        sim.handling_clock(t)
        dept = self.dept_for(cat, grid)
        if not self.handle(sim, dept, worker):
            return
        # 回访: some cases are rated, a few reopened
        if rng.random() < 0.45 and c["state"] == "closed":
            t = self.after(sim, rng.uniform(2, 72), N)
            score = rng.choices([5, 4, 3, 2, 1], weights=[60, 25, 9, 4, 2])[0]
            rater = (c["reporter_id"], "reporter") if c["reporter_id"] else (self.op(c), "operator")
            sim.step(
                t,
                "rate",
                rater[0],
                rater[1],
                "",
                {"score": score},
                satisfaction=score,
                rating_text="",
                rated_at=t,
            )
            if score <= 2 and rng.random() < 0.3:
                t2 = self.after(sim, rng.uniform(2, 48), N)
                if sim.step(
                    t2,
                    "reopen",
                    self.op(c),
                    "operator",
                    "回访不满意，重新办理",
                    {},
                    to="filed",
                    reopen_count=c["reopen_count"] + 1,
                    closed_at=None,
                    self_closed=False,
                    department_id=None,
                    worker_id=None,
                ):
                    sim.handling_clock(t2)
                    self.handle(sim, dept, worker)

    def handle(self, sim, dept, worker) -> bool:
        """dispatch → sign → submit → verify, with returns, extensions, reworks, suspensions."""
        rng, c = self.rng, sim.c
        lim = sim.cat["handle"]
        to_worker = worker is not None and sim.cat["level"] == V and rng.random() < 0.3
        target = (
            {"worker_id": worker.pk, "department_id": None}
            if to_worker
            else {"department_id": dept.pk, "worker_id": None}
        )
        doer, drole = (
            (worker.pk, "assignee")
            if to_worker
            else ((self.handlers.get(dept.pk) or [None])[0], "handler")
        )
        data = {"worker": worker.pk} if to_worker else {"department": dept.code}
        t = self.after(sim, rng.uniform(0.02, 0.1) * lim)
        if not sim.step(
            t,
            "dispatch",
            self.op(c),
            "operator",
            "",
            data,
            to="assigned",
            dispatched_at=t,
            dispatch_count=c["dispatch_count"] + 1,
            **target,
        ):
            return False
        if not to_worker and rng.random() < 0.05:  # 退单 and 改派 to the street team
            t = self.after(sim, rng.uniform(0.02, 0.1) * lim)
            if not sim.step(
                t,
                "return",
                doer,
                drole,
                "非本单位职责范围",
                {"department": dept.code, "worker": None},
                to="filed",
                department_id=None,
                worker_id=None,
                return_count=c["return_count"] + 1,
            ):
                return False
            try:
                dept = self.ctx.department("ZF", c["scope_code"])
            except KeyError:
                pass
            doer = (self.handlers.get(dept.pk) or [None])[0]
            t = self.after(sim, rng.uniform(0.02, 0.1) * lim)
            if not sim.step(
                t,
                "dispatch",
                self.op(c),
                "operator",
                "",
                {"department": dept.code},
                to="assigned",
                dispatched_at=t,
                dispatch_count=c["dispatch_count"] + 1,
                department_id=dept.pk,
                worker_id=None,
            ):
                return False
        t = self.after(sim, rng.uniform(0.02, 0.15) * lim)
        if not sim.step(t, "sign", doer, drole, "", {}, to="in_progress", signed_at=t):
            return False
        if rng.random() < 0.04:  # 延期
            due = sim.g.clock.add(c["final_due"], rng.choice([7, 14, 21]), sim.cat["unit"])
            t = self.after(sim, rng.uniform(0.2, 0.6) * lim)
            if not sim.step(
                t, "extend_request", doer, drole, "需协调多部门，申请延期", {"due": due.isoformat()}
            ):
                return False
            req = [
                c["id"],
                doer,
                c["final_due"],
                due,
                "需协调多部门，申请延期",
                "pending",
                None,
                None,
                "",
                t,
            ]
            sim.extensions.append(req)
            t = self.after(sim, rng.uniform(0.01, 0.1) * lim)
            if not sim.step(
                t,
                "extend_approve",
                self.op(c),
                "operator",
                "",
                {"due": due.isoformat(), "previous_due": c["final_due"].isoformat()},
                extension_count=c["extension_count"] + 1,
                final_due=due,
            ):
                return False
            req[5:8] = ["approved", self.op(c), t]
            sim._clock(due, lim, t)
        if rng.random() < 0.012 or sim.halt == "suspended":  # 挂账
            t = self.after(sim, rng.uniform(0.2, 0.5) * lim)
            review = (timezone.localtime(t) + dt.timedelta(days=rng.choice([30, 60, 90]))).date()
            if not sim.step(
                t,
                "suspend_request",
                doer,
                drole,
                "需专项资金解决",
                {"review_date": review.isoformat()},
            ):
                return False
            req = [c["id"], doer, "需专项资金解决", review, "pending", None, None, "", t]
            sim.suspensions.append(req)
            t = self.after(sim, rng.uniform(0.01, 0.1) * lim)
            if not sim.step(
                t,
                "suspend_approve",
                self.op(c),
                "operator",
                "",
                {"review_date": review.isoformat()},
                to="suspended",
                suspended_at=t,
                suspended_review_date=review,
                sla_due_at=None,
                sla_warn_at=None,
                sla_state=SlaState.NORMAL,
            ):
                return False
            req[4:7] = ["approved", self.op(c), t]
            return False
        for attempt in range(3):
            share = rng.uniform(0.2, 0.85) if rng.random() < 0.85 else rng.uniform(1.0, 2.0)
            t = self.after(sim, share * lim)
            result = rng.choice(RESULTS)
            if not sim.step(
                t,
                "submit",
                doer,
                drole,
                result,
                {"attachments": 1},
                to="handled",
                result=result,
                handled_at=t,
            ):
                return False
            t = self.after(sim, rng.uniform(0.02, 0.1) * lim)
            verifier = (self.op(c), "operator")
            if worker is not None and not to_worker and rng.random() < 0.3:
                verifier = (worker.pk, "grid_worker")
            if attempt < 2 and rng.random() < 0.08:
                if not sim.step(
                    t,
                    "rework",
                    verifier[0],
                    verifier[1],
                    "处理不彻底，请返工",
                    {"rework": c["rework_count"] + 1},
                    to="in_progress",
                    rework_count=c["rework_count"] + 1,
                ):
                    return False
                continue
            return sim.step(
                t,
                "verify",
                verifier[0],
                verifier[1],
                "经核查已处理到位",
                {},
                to="closed",
                closed_at=t,
                sla_due_at=None,
                sla_warn_at=None,
                sla_state=SlaState.NORMAL,
            )
        return False


# --- writing -----------------------------------------------------------------------------------


def _columns(model, skip=()):
    return [f.column for f in model._meta.concrete_fields if f.column not in skip]


class _Writer:
    """Bulk rows as tuples: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, model, columns):
        self.table = model._meta.db_table
        self.columns = columns
        self.pg = connection.vendor == "postgresql"
        fields = {f.column: f for f in model._meta.concrete_fields}
        self.dt_cols = [
            i for i, col in enumerate(columns) if fields[col].get_internal_type() == "DateTimeField"
        ]
        self.date_cols = [
            i for i, col in enumerate(columns) if fields[col].get_internal_type() == "DateField"
        ]

    def write(self, rows) -> None:
        if not rows:
            return
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        with connection.cursor() as cur:
            if self.pg:
                raw = cur.cursor if hasattr(cur, "cursor") else cur
                with raw.copy(f"COPY {self.table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                ops = connection.ops
                conv = []
                for row in rows:
                    r = list(row)
                    for i in self.dt_cols:
                        r[i] = ops.adapt_datetimefield_value(r[i])
                    for i in self.date_cols:
                        r[i] = ops.adapt_datefield_value(r[i])
                    conv.append(r)
                marks = ", ".join(["%s"] * len(self.columns))
                cur.executemany(f"INSERT INTO {self.table} ({cols}) VALUES ({marks})", conv)


def _next_id(model) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


def _fix_sequence(model) -> None:
    if connection.vendor != "postgresql":
        return
    table = model._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
        )


def generate_cases(ctx, n: int) -> int:
    with _bulk_load():
        return _generate_cases(ctx, n)


@contextmanager
def _bulk_load():
    """On PostgreSQL, skip the per-row foreign-key triggers while loading generated rows.

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so a million cases and their
    action logs queue some 20 million row checks that all run at COMMIT (longer than the load
    itself). The rows are built from ids just read from the same transaction, so the checks
    cannot fail; ``session_replication_role = replica`` (what pg_restore-style bulk loads use)
    turns them off for this transaction only. Without the privilege the checks simply run.
    """
    if connection.vendor != "postgresql":
        yield
        return
    switched = False
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
        switched = True
    except DatabaseError:
        pass
    try:
        yield
    finally:
        if switched:
            with connection.cursor() as cur:
                cur.execute("SET LOCAL session_replication_role = DEFAULT")


def _generate_cases(ctx, n: int) -> int:
    gen = _Generator(ctx, n)
    case_cols = _columns(Case)
    act_cols = _columns(CaseAction)
    sup_cols = _columns(Supervision)
    ext_cols = _columns(ExtensionRequest)
    sus_cols = _columns(SuspensionRequest)
    writers = {
        "case": _Writer(Case, case_cols),
        "act": _Writer(CaseAction, act_cols),
        "sup": _Writer(Supervision, sup_cols),
        "ext": _Writer(ExtensionRequest, ext_cols),
        "sus": _Writer(SuspensionRequest, sus_cols),
    }
    ids = {
        m: _next_id(m) for m in (Case, CaseAction, Supervision, ExtensionRequest, SuspensionRequest)
    }
    order_act = _reorder(act_cols, ACT_ORDER)
    order_sup = _reorder(sup_cols, SUP_ORDER)
    order_ext = _reorder(ext_cols, EXT_ORDER)
    order_sus = _reorder(sus_cols, SUS_ORDER)
    # ~1 % of the cases reported 3–10 days ago (at least 3 per state) are held in an open or
    # rejected state: a backlog, so every state shows even in a small demo.
    held = min(n, max(3 * len(HELD_STATES), n // 100))
    lo, hi = int(n * (1 - 10 / DAYS_BACK)), int(n * (1 - 3 / DAYS_BACK))
    step = max((hi - lo) / held, 1)
    halts = {min(n - 1, lo + int(i * step)): HELD_STATES[i % len(HELD_STATES)] for i in range(held)}
    made = 0
    while made < n:
        size = min(CHUNK, n - made)
        times = gen.chunk_times(made, size, n)
        sims = [gen.make(ids[Case] + made + i, times[i], halts.get(made + i)) for i in range(size)]
        # merged cases point at earlier ones; write in id order within the chunk
        rows = [tuple(s.c[col] for col in case_cols) for s in sims]
        writers["case"].write(rows)
        acts, sups, exts, suss = [], [], [], []
        for s in sims:
            for a in s.actions:
                acts.append((ids[CaseAction], *a))
                ids[CaseAction] += 1
            for sup in s.supervisions:
                sups.append((ids[Supervision], *sup))
                ids[Supervision] += 1
            for e in s.extensions:
                exts.append((ids[ExtensionRequest], *e))
                ids[ExtensionRequest] += 1
            for su in s.suspensions:
                suss.append((ids[SuspensionRequest], *su))
                ids[SuspensionRequest] += 1
        writers["act"].write([order_act(a) for a in acts])
        writers["sup"].write([order_sup(r) for r in sups])
        writers["ext"].write([order_ext(r) for r in exts])
        writers["sus"].write([order_sus(r) for r in suss])
        made += size
        if n >= 100_000:
            ctx.log(f"    {made:,} / {n:,} cases")
    for m in (Case, CaseAction, Supervision, ExtensionRequest, SuspensionRequest):
        _fix_sequence(m)
    return made


ACT_ORDER = ["id", "case_id", "action", "actor_id", "role", "from_state", "to_state", "note",
             "data", "created_at"]  # fmt: skip
SUP_ORDER = ["id", "case_id", "kind", "by_id", "department_id", "note", "created_at",
             "answered_at"]  # fmt: skip
EXT_ORDER = ["id", "case_id", "requested_by_id", "previous_due", "requested_due", "reason",
             "state", "decided_by_id", "decided_at", "decision_note", "created_at"]  # fmt: skip
SUS_ORDER = ["id", "case_id", "requested_by_id", "reason", "review_date", "state",
             "decided_by_id", "decided_at", "decision_note", "created_at"]  # fmt: skip


def _reorder(columns: list[str], order: list[str]):
    """A function putting a tuple in ``order`` into the table's column order."""
    positions = [order.index(col) for col in columns]
    return lambda row: tuple(row[i] for i in positions)
