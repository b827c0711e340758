"""Synthetic base data for the demo city and the benchmark: valid ID numbers, phones and credit
codes, encrypted like real rows. Deterministic for a given ``random.Random``."""

from __future__ import annotations

import datetime as dt
import random

from . import crypto, services
from .models import Person
from .validators import make_resident_id, make_uscc

BIRTH_DAYS = 30_000  # about 82 years of birth dates
BIRTH0 = dt.date(1940, 1, 1)


ID_SPACE = BIRTH_DAYS * 1000  # birth dates × 3-digit serials


def id_for(region: str, n: int) -> str:
    """The n-th synthetic ID number of a region: unique for n < 30 million.

    n is scattered over (birth date, serial) by multiplying with a number coprime to the space,
    so neighbours differ in birth date and gender.
    """
    m = (n * 7919) % ID_SPACE
    return make_resident_id(region, BIRTH0 + dt.timedelta(days=m // 1000), m % 1000)


def phone_for(n: int) -> str:
    return f"1{3 + n % 7}{n % 10}{n // 10 % 100_000_000:08d}"


def pii_fields(number: str, phone: str) -> dict[str, str]:
    """The stored columns for an ID number and phone (ciphertexts, blind indexes, masks)."""
    return {
        "id_number_enc": crypto.encrypt(number, context=Person.ID_CONTEXT),
        "id_number_bidx": services.id_index(number),
        "id_number_mask": crypto.mask_id(number),
        "phone_enc": crypto.encrypt(phone, context=Person.PHONE_CONTEXT) if phone else "",
        "phone_bidx": services.phone_index(phone) if phone else "",
        "phone_mask": crypto.mask_phone(phone) if phone else "",
    }


def gender_birth(number: str) -> tuple[str, dt.date]:
    return (
        "M" if int(number[16]) % 2 else "F",
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
    )


def uscc_for(region: str, n: int) -> str:
    return make_uscc(region, n)


def tag_data(code: str, rng: random.Random, today: dt.date) -> dict:
    """Valid field values for a built-in tag kind."""
    d = lambda days: (today - dt.timedelta(days=days)).isoformat()  # noqa: E731
    return {
        "left_behind_child": {"guardian": "祖父母"},
        "lonely_elderly": {"health": rng.choice(["良好", "一般", "较差"])},
        "disabled": {"disability": rng.choice(["视力", "听力", "肢体", "智力"]), "grade": rng.randint(1, 4)},
        "low_income": {"scheme": rng.choice(["低保", "特困"])},
        "veteran": {"discharged": d(rng.randint(400, 9000))},
        "released": {"release_date": d(rng.randint(30, 1500)), "offence": "盗窃"},
        "community_correction": {"start_date": d(rng.randint(30, 300)), "end_date": (today + dt.timedelta(days=rng.randint(30, 400))).isoformat()},
        "mental_disorder": {"risk_level": rng.randint(0, 5), "guardian": "配偶"},
        "drug_user": {"status": rng.choice(["社区戒毒", "社区康复", "戒断三年未复吸"])},
        "bad_behaviour_youth": {"behaviour": "夜不归宿"},
        "inmate_child": {"guardian": "祖母"},
    }.get(code, {})  # fmt: skip
