"""Checksums and derived fields of Chinese identifiers (GB 11643 ID numbers, GB 32100 USCC)."""

from __future__ import annotations

import datetime as dt
import re

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")

# Province-level codes (GB/T 2260): the first two digits of every region code.
PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
    "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省",
    "64": "宁夏回族自治区", "65": "新疆维吾尔自治区", "71": "台湾省", "81": "香港特别行政区",
    "82": "澳门特别行政区",
}  # fmt: skip


class IdNumberError(ValueError):
    """Why an ID number is refused: ``code`` is one of format/checksum/birth_date/region."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def parse_resident_id(value: str, *, today: dt.date | None = None) -> tuple[str, dt.date, str]:
    """Check an 18-digit 居民身份证 number; return (number, birth date, gender "M"/"F").

    Raises IdNumberError on a bad format, a wrong check character, an impossible or future
    birth date, or an unknown province.
    """
    v = (value or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        raise IdNumberError("format", "must be 18 characters: 17 digits and a digit or X")
    if id_check_char(v[:17]) != v[17]:
        raise IdNumberError("checksum", "wrong check character (GB 11643)")
    if v[:2] not in PROVINCES:
        raise IdNumberError("region", f"unknown region code {v[:6]}")
    try:
        birth = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError as exc:
        raise IdNumberError("birth_date", f"impossible birth date {v[6:14]}") from exc
    today = today or dt.date.today()
    if birth > today or birth.year < 1890:
        raise IdNumberError("birth_date", f"impossible birth date {v[6:14]}")
    gender = "M" if int(v[16]) % 2 else "F"
    return v, birth, gender


def make_resident_id(region: str, birth: dt.date, serial: int) -> str:
    """A valid ID number for a region, birth date and 3-digit serial (demo and bench data)."""
    first = f"{region}{birth:%Y%m%d}{serial % 1000:03d}"
    return first + id_check_char(first)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def check_uscc(value: str) -> str:
    """Check a 统一社会信用代码 (GB 32100): format, region part and check character."""
    v = (value or "").strip().upper()
    if len(v) != 18 or not USCC_RE.match(v[:17] + ("0" if v[17:] else "")):
        raise IdNumberError("format", "must be 18 characters from 0-9 and A-Y without I O S V Z")
    if v[17] not in USCC_CHARS:
        raise IdNumberError("format", "must be 18 characters from 0-9 and A-Y without I O S V Z")
    if uscc_check_char(v[:17]) != v[17]:
        raise IdNumberError("checksum", "wrong check character (GB 32100)")
    if v[2:4] not in PROVINCES:
        raise IdNumberError("region", f"unknown region code {v[2:8]}")
    return v


def make_uscc(region: str, serial: int, kind: str = "91") -> str:
    """A valid USCC for a 6-digit region (demo and bench data); ``kind`` 91 = enterprise."""
    body = ""
    n = serial
    for _ in range(9):
        body = USCC_CHARS[n % 31] + body
        n //= 31
    first = f"{kind}{region}{body}"
    return first + uscc_check_char(first)


def check_phone(value: str) -> str:
    v = re.sub(r"[\s-]", "", value or "")
    if re.fullmatch(r"1[3-9]\d{9}", v) or re.fullmatch(r"0\d{2,3}\d{7,8}", v):
        return v
    raise ValueError("must be an 11-digit mobile number or a landline with area code")
