"""Demo people: centers, departments, the named demo accounts and every grid's team.

Passwords: the named accounts get their own argon2 hash of the demo password. The ~2.5 generated
users per grid get one shared hash of the same password computed once: hashing 25,000 argon2
passwords would take longer than the whole rest of the seeding, and every demo account is meant
to be usable with the one documented password anyway (shared salt is harmless for a password that
is printed on the screen).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password

from civicgrid.people.models import (
    AdviserKind,
    Center,
    Department,
    GridAdviser,
    GridMember,
    Role,
    RoleAssignment,
    User,
    WorkerType,
)

from . import names as nm

BATCH = 500


@dataclass(frozen=True)
class Account:
    """A named demo account (documented in docs/demo-city.md)."""

    username: str
    role: str
    scope: str  # how to find the scope area in the demo (see _scope)
    title: str  # what the account is, for the printed table
    department: str = ""  # department key for handlers


ACCOUNTS = [
    Account("admin", Role.ADMIN, "city", "System administrator (superuser)"),
    Account("city_operator", Role.OPERATOR, "city", "Operator, city center"),
    Account("operator", Role.OPERATOR, "district1", "Operator, district center (云中区)"),
    Account("county_operator", Role.OPERATOR, "county1", "Operator, county center (雁北县)"),
    Account("street_operator", Role.OPERATOR, "street1", "Operator, street center"),
    Account("village_operator", Role.OPERATOR, "community1", "Operator, community center"),
    Account("handler", Role.HANDLER, "district1", "Handler, 云中区城管局", "CG"),
    Account("handler2", Role.HANDLER, "district1", "Handler, 云中区住建局", "ZJ"),
    Account(
        "street_handler", Role.HANDLER, "street1", "Handler, street law-enforcement team", "ZF"
    ),
    Account("leader", Role.LEADER, "city", "City leader"),
    Account("district_leader", Role.LEADER, "district1", "District leader (云中区)"),
    Account("chief", Role.GRID_CHIEF, "street1", "Grid chief of a street"),
    Account("worker", Role.GRID_WORKER, "community1", "Grid worker of two grids"),
    Account("citizen", Role.CITIZEN, "city", "Citizen"),
    # 党员履单 accounts; the party demo step links them to a party member and a volunteer.
    Account("party_member", Role.PARTY_MEMBER, "community1", "Party member (党员履单)"),
    Account("volunteer", Role.PARTY_MEMBER, "community1", "Volunteer (志愿者履单)"),
]


class Phones:
    """Deterministic, well-formed but fake mobile numbers: 1390000xxxx, 1380000xxxx, …"""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        i, self.n = self.n, self.n + 1
        return f"1{39 - (i // 10_000) % 10}0000{i % 10_000:04d}"


def seed_people(ctx) -> None:
    rng = ctx.rng
    phones = Phones()
    shared_hash = make_password(ctx.password)
    ctx.shared_hash = shared_hash  # for accounts other apps' demo steps create
    ctx.phones = phones
    scopes = _scopes(ctx)

    _centers(ctx, scopes)
    _departments(ctx)

    users: list[User] = []
    assignments: list[
        tuple[User, str, object, object, object]
    ] = []  # user, role, area, center, dept
    members: list[tuple] = []  # user, grid, worker type, team leader?, since
    ctx.users = {role: [] for role in Role.values}

    def person(username: str, role: str, area, *, center=None, department=None, password=None):
        user = User(
            username=username,
            full_name=nm.person_name(rng),
            phone=phones.next(),
            password=password or shared_hash,
            date_joined=ctx.now,
        )
        users.append(user)
        assignments.append((user, role, area, center, department))
        ctx.users[role].append(user)
        return user

    # Named accounts first, so they get the first phone numbers and stable ids.
    worker_grids = scopes["worker_grids"]
    for acc in ACCOUNTS:
        area = scopes[acc.scope]
        center = ctx.centers.get(area.code) if acc.role == Role.OPERATOR else None
        dept = ctx.department(acc.department, area.code) if acc.department else None
        user = person(
            acc.username,
            acc.role,
            area,
            center=center,
            department=dept,
            password=make_password(ctx.password),
        )
        if acc.username == "admin":
            user.is_staff = user.is_superuser = True
            user.full_name = "系统管理员"
        ctx.accounts[acc.username] = user
        ctx.account_scopes[acc.username] = area
    for grid in worker_grids:
        since = ctx.now.date() - dt.timedelta(days=700)
        members.append((ctx.accounts["worker"], grid, WorkerType.FULL_TIME, True, since))
        ctx.grid_workers[grid.code] = ctx.accounts["worker"]

    # Center operators and leaders.
    for code, center in ctx.centers.items():
        level = center.area.level
        for k in range(1, {1: 3, 2: 3, 3: 2, 4: 2}[level]):
            person(f"op{code}_{k}", Role.OPERATOR, center.area, center=center)
    for area in [ctx.city, *ctx.districts, *ctx.streets]:
        person(f"ld{area.code}", Role.LEADER, area)
    # One handler per department (two for the busy district 城管局).
    for dept in ctx.departments:
        for k in range(1, 3 if dept.code.endswith("-CG") else 2):
            person(f"hd{dept.code}_{k}", Role.HANDLER, dept.area, department=dept)
    # Grid chiefs: the street's and each community's (usually its party secretary).
    chief_street = scopes["street1"].code
    for area in [*ctx.streets, *ctx.communities]:
        if area.code != chief_street:
            person(f"gz{area.code}", Role.GRID_CHIEF, area)

    # Grid teams: "1+2+N" in urban communities (1 community police officer and 2 auxiliary
    # police shared by the community's grids, N grid workers per grid); "1+N" in villages
    # (一村一辅警: one auxiliary police officer per village).
    grids_by_comm: dict[int, list] = {}
    for grid in ctx.grids:
        grids_by_comm.setdefault(grid.area_id, []).append(grid)
    micro_by_grid: dict[int, list] = {}
    micro_of: dict[int, object] = {}  # 微网格员 → their micro-grid
    for micro in ctx.micro_grids:
        micro_by_grid.setdefault(micro.grid_id, []).append(micro)
    for comm in ctx.communities:
        comm_grids = grids_by_comm.get(comm.id, [])
        urban = comm.code[9:] < "200"
        police = []
        if urban:
            police.append((person(f"mj{comm.code}", Role.GRID_WORKER, comm), WorkerType.POLICE))
            for k in (1, 2):
                u = person(f"fj{comm.code}_{k}", Role.GRID_WORKER, comm)
                police.append((u, WorkerType.AUX_POLICE))
        else:
            police.append(
                (person(f"fj{comm.code}_1", Role.GRID_WORKER, comm), WorkerType.AUX_POLICE)
            )
        for grid in comm_grids:
            since = ctx.now.date() - dt.timedelta(days=rng.randint(90, 6 * 365))
            if grid.code not in ctx.grid_workers:
                lead = person(f"wg{grid.code}", Role.GRID_WORKER, comm)
                members.append((lead, grid, WorkerType.FULL_TIME, True, since))
                ctx.grid_workers[grid.code] = lead
            extra = rng.choice((0, 1, 1, 2)) if urban else rng.choice((1, 1, 2))
            for k in range(1, extra + 1):
                kind = (
                    WorkerType.PART_TIME
                    if not urban or rng.random() < 0.6
                    else WorkerType.ASSISTANT
                )
                members.append(
                    (person(f"wg{grid.code}_{k}", Role.GRID_WORKER, comm), grid, kind, False, since)
                )
            for micro in micro_by_grid.get(grid.id, []):
                u = person(f"wg{micro.code}", Role.GRID_WORKER, comm)
                members.append((u, grid, WorkerType.MICRO, False, since))
                micro_of[id(u)] = micro
            for u, kind in police:
                members.append((u, grid, kind, False, since))

    # The records the selection rules read (docs/organisation.md): education by worker type and
    # where the member lives; a few exceptions show the warnings on the team editor.
    pick = ctx.rng_for("people-selection")
    for u, grid, kind, _lead, _since in members:
        if kind in WORK_PHONE_TYPES:
            continue
        if not u.education:
            u.education = EDUCATION_BY_TYPE.get(kind, "senior")
            if pick.random() < 0.03:
                u.education = "junior"
        if u.residence_grid_id is None and (kind != WorkerType.FULL_TIME or pick.random() < 0.7):
            u.residence_grid = grid
    User.objects.bulk_create(users, batch_size=BATCH)
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(user=u, role=role, area=area, center=center, department=dept)
            for u, role, area, center, dept in assignments
        ],
        batch_size=BATCH,
    )
    GridMember.objects.bulk_create(
        [
            GridMember(
                user=u,
                grid=grid,
                worker_type=kind,
                is_leader=lead,
                since=since,
                micro_grid=micro_of.get(id(u)),
                # 工作电话 (shown on the public board) for the lead worker and the police;
                # the others show the center's duty line.
                work_phone=f"0352-{5100000 + n:07d}" if lead or kind in WORK_PHONE_TYPES else "",
            )
            for n, (u, grid, kind, lead, since) in enumerate(members)
        ],
        batch_size=BATCH,
    )
    _advisers(ctx, scopes, phones)


WORK_PHONE_TYPES = (WorkerType.POLICE, WorkerType.AUX_POLICE)
EDUCATION_BY_TYPE = {
    WorkerType.FULL_TIME: "college",
    WorkerType.PART_TIME: "senior",
    WorkerType.ASSISTANT: "senior",
    WorkerType.MICRO: "junior",
}


def _scopes(ctx) -> dict:
    """The areas the named accounts are bound to: the first ones of 云中区 in code order."""
    district1 = ctx.districts[0]
    county1 = next(d for d in ctx.districts if d.code[4:6] >= "21")
    grids_by_comm: dict[int, list] = {}
    for grid in ctx.grids:
        grids_by_comm.setdefault(grid.area_id, []).append(grid)
    # The worker's community: the first one of 云中区 with two ordinary grids.
    for comm in ctx.communities:
        regular = [g for g in grids_by_comm.get(comm.id, []) if g.kind != "dedicated"]
        if comm.code.startswith(district1.prefix) and len(regular) >= 2:
            break
    else:
        raise ValueError("no community with two ordinary grids in the first district")
    street1 = next(s for s in ctx.streets if s.code[:9] == comm.code[:9])
    return {
        "city": ctx.city,
        "district1": district1,
        "county1": county1,
        "street1": street1,
        "community1": comm,
        "worker_grids": regular[:2],
    }


def _centers(ctx, scopes) -> None:
    """City, every district/county and street/township, and a few community-level centers."""
    areas = [ctx.city, *ctx.districts, *ctx.streets]
    # Community centers: the first community of every street of 云中区 and of the first
    # township of each county, plus the named village_operator's community.
    seen_streets: set[str] = set()
    first_town: dict[str, str] = {}
    for street in ctx.streets:
        first_town.setdefault(street.code[:6], street.code[:9])
    for comm in ctx.communities:
        street = comm.code[:9]
        in_district1 = comm.code.startswith(ctx.districts[0].prefix)
        if street not in seen_streets and (in_district1 or street in first_town.values()):
            areas.append(comm)
            seen_streets.add(street)
    if scopes["community1"] not in areas:
        areas.append(scopes["community1"])
    centers = [
        Center(area=a, name=f"{a.name}综治中心", phone=f"0352-{5_100_000 + i}")
        for i, a in enumerate(areas)
    ]
    Center.objects.bulk_create(centers, batch_size=BATCH)
    ctx.centers = {c.area.code: c for c in sorted(centers, key=lambda c: c.area.code)}


def _departments(ctx) -> None:
    rows = []
    for key, (_district, _county, city_name, _en) in nm.DEPARTMENTS.items():
        rows.append((f"{ctx.city.prefix}-{key}", f"{ctx.city.name}{city_name}", ctx.city))
    for key, (name, _en) in nm.CITY_UTILITIES.items():
        rows.append((f"{ctx.city.prefix}-{key}", name, ctx.city))
    for district in ctx.districts:
        county = district.code[4:6] >= "21"
        for key, (d_name, c_name, _city, _en) in nm.DEPARTMENTS.items():
            rows.append(
                (
                    f"{district.prefix}-{key}",
                    f"{district.name}{c_name if county else d_name}",
                    district,
                )
            )
    key, name, _en = nm.STREET_DEPARTMENT
    for street in ctx.streets:
        rows.append((f"{street.prefix}-{key}", f"{street.name}{name}", street))
    depts = [
        Department(code=code, name=name, area=area, phone=f"0352-{5_300_000 + i}")
        for i, (code, name, area) in enumerate(rows)
    ]
    Department.objects.bulk_create(depts, batch_size=BATCH)
    ctx.departments = depts


ADVISER_ORGS = {
    AdviserKind.JUDGE: "{district}人民法院",
    AdviserKind.PROSECUTOR: "{district}人民检察院",
    AdviserKind.POLICE: "{street}派出所",
    AdviserKind.LAWYER: "{word}律师事务所",
    AdviserKind.MEDIATOR: "{street_name}人民调解委员会",
}


def _advisers(ctx, scopes, phones) -> None:
    """五员进网 in every community of the first street and about a third of the others."""
    rng = ctx.rng
    districts = {d.code[:6]: d for d in ctx.districts}
    streets = {s.code[:9]: s for s in ctx.streets}
    grids_by_comm: dict[int, list] = {}
    for grid in ctx.grids:
        grids_by_comm.setdefault(grid.area_id, []).append(grid)
    rows = []
    for comm in ctx.communities:
        first_street = comm.code[:9] == scopes["street1"].code[:9]
        if not first_street and rng.random() >= 0.33:
            continue
        street = streets[comm.code[:9]]
        short = street.name[:-2] if street.name.endswith("街道") else street.name[:-1]
        team = []
        for kind, org in ADVISER_ORGS.items():
            team.append(
                (
                    kind,
                    nm.person_name(rng),
                    org.format(
                        district=districts[comm.code[:6]].name,
                        street=short,
                        street_name=street.name,
                        word=nm.word(rng),
                    ),
                    phones.next(),
                )
            )
        for grid in grids_by_comm.get(comm.id, []):
            rows.extend(
                GridAdviser(grid=grid, kind=k, name=n, organisation=o, phone=p)
                for k, n, o, p in team
            )
    GridAdviser.objects.bulk_create(rows, batch_size=BATCH)
