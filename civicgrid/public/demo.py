"""Demo step of the public face: one-key call devices at the homes of elderly people living alone
in the ``worker`` account's grids. Their tokens are derived from the seed (printed by the step),
so a demo can press a button with curl; never do that with real devices."""

from __future__ import annotations

from civicgrid.core.demo.names import SURNAMES

from .models import EmergencyDevice

STREETS = ["幸福里", "和平路", "向阳巷", "东风街", "团结路"]


def demo_token(seed: int, n: int) -> str:
    return f"cg1_demo-{seed}-{n}"


def seed(ctx) -> None:
    rng = ctx.rng
    worker = ctx.accounts.get("worker")
    grids = (
        [m.grid for m in worker.grid_memberships.select_related("grid")] if worker else []
    ) or ctx.grids[:2]
    made = []
    for n, grid in enumerate(grids[:2] * 2, start=1):
        p = grid.geometry.representative_point()
        lat = p.y + rng.uniform(-0.0008, 0.0008)
        lng = p.x + rng.uniform(-0.0008, 0.0008)
        if not grid.geometry.contains(type(p)(lng, lat)):
            lat, lng = p.y, p.x
        surname = rng.choice(SURNAMES)
        token = demo_token(ctx.seed, n)
        made.append(
            EmergencyDevice(
                token_hash=EmergencyDevice.hash_token(token),
                label=f"YJ-{ctx.seed % 10000:04d}-{n:03d}",
                holder_name=surname + rng.choice(["秀英", "桂兰", "德福", "长顺", "玉珍"]),
                phone=f"0352-52{rng.randint(10000, 99999)}",
                contact_name=surname + rng.choice(["建国", "丽娟", "海涛"]),
                contact_phone=f"1370000{rng.randint(1000, 9999)}",
                address=f"{grid.area.name}{rng.choice(STREETS)}{rng.randint(1, 80)}号"
                f"{rng.randint(1, 6)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}",
                lat=lat,
                lng=lng,
                grid=grid,
            )
        )
    EmergencyDevice.objects.bulk_create(made)
    ctx.log(
        f"  {len(made)} one-key call devices; demo token of the first: {demo_token(ctx.seed, 1)}"
    )
