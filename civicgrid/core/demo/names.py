"""Name pools for the demo city: plausible, fictional Chinese place, unit and person names.

Nothing here is a real city's data: the words are common toponym and street-name morphemes of
northern Shanxi, combined at random (deterministically, from the seed).
"""

from __future__ import annotations

import random

CITY_NAME = "云州市"

# (code digits, name, urban?) — two urban districts in the core, two counties around it.
DISTRICTS = [
    ("02", "云中区", True),
    ("03", "凤鸣区", True),
    ("21", "雁北县", False),
    ("22", "桑干县", False),
]

# Street, township and community words (two characters, used with 街道/镇/乡/社区/路/里...).
PLACE_WORDS = (
    "新华 建设 和平 胜利 迎宾 文兴 振华 永泰 平安 兴云 御东 开源 古城 鼓楼 东关 西关 南关 北关 "
    "向阳 新建 光明 友谊 幸福 团结 红旗 前进 工农 朝阳 龙泉 凤凰 青山 白马 金山 银河 玉河 "
    "清泉 柳林 杏园 桃源 梨园 枣园 松林 槐荫 榆林 杨柳 紫荆 丁香 牡丹 兰亭 华严 善化 法华 "
    "文瀛 文昌 魁星 书院 学府 博雅 翰林 仁和 礼让 信义 忠孝 德胜 福寿 康宁 吉祥 如意 瑞丰 "
    "丰收 富民 惠民 安居 乐业 长青 长安 长宁 永安 永宁 永和 泰和 泰安 恒安 恒通 通达 宏达 "
    "云岗 云泉 云峰 云锦 云瑞 凤翔 凤阳 凤栖 雁塔 雁鸣 雁门 桑园 桑林 塞北 塞上 边城 长城 "
    "烽火 古堡 新堡 旧堡 马营 羊坊 驿马 驿站 车站 铁路 矿山 煤城 电厂 机车 化工 纺织 "
    "花园 公园 湖滨 河畔 滨河 水泉 温泉 沙河 西河 东河 南河 北河 清水 白水 黄土 红土 "
    "东风 西风 南风 北风 东方 西城 南城 北城 新区 新城 新村 新民 新兴 新星 新苑 新府"
).split()

STREET_SUFFIXES = ("", "路", "街", "里", "苑", "园", "巷", "湾", "坊", "门")

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋"
    "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙"
    "万段雷钱汤尹黎易常武乔贺赖龚文牛温耿安霍樊郎岳柴"
)
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红文辉玉萍宇鹏飞鑫慧波宁"
    "斌浩凯亮晨雪梅琳晶欣颖佳婷倩瑞峰龙云海波俊宏彬荣旭东丹琴燕蓉鹏翔振兴春秋冬梅"
)

VILLAGE_SUFFIXES = (
    "庄",
    "堡",
    "湾",
    "寨",
    "屯",
    "沟",
    "坪",
    "窑",
    "营",
    "坡",
    "峪",
    "梁",
    "村",
    "店",
    "铺",
)
VILLAGE_PREFIXES = "东西南北前后上下大小新旧高"
NUMERALS = "零一二三四五六七八九十"


class NamePool:
    """Draws names that are unique within the whole city (falls back to numbered variants)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        """``make(word, suffix, number)``; a few random tries, then a systematic numbered sweep."""
        for _ in range(40):
            name = make(self.rng.choice(PLACE_WORDS), self.rng.choice(STREET_SUFFIXES), "")
            if name not in self.used:
                self.used.add(name)
                return name
        n = 2
        while True:
            for word in PLACE_WORDS:
                name = make(word, "", chinese_number(n))
                if name not in self.used:
                    self.used.add(name)
                    return name
            n += 1

    def street(self) -> str:
        return self._unique(lambda w, s, n: f"{w}{n}街道")

    def town(self, kind: str) -> str:
        """kind is 镇 or 乡; half are named after a place word, half after a village."""

        def make(w, s, n):
            if not n and self.rng.random() < 0.5:
                return f"{self.village_stem()}{kind}"
            return f"{w}{n}{kind}"

        return self._unique(make)

    def community(self) -> str:
        return self._unique(lambda w, s, n: f"{w}{s}{n}社区")

    def village(self) -> str:
        return self._unique(lambda w, s, n: f"{self.village_stem()}{n}村")

    def village_stem(self) -> str:
        r = self.rng.random()
        suffix = self.rng.choice(VILLAGE_SUFFIXES)
        if r < 0.55:
            return f"{self.rng.choice(SURNAMES)}家{suffix}"
        if r < 0.8:
            return f"{self.rng.choice(VILLAGE_PREFIXES)}{self.rng.choice(PLACE_WORDS)[0]}{suffix}"
        return f"{self.rng.choice(PLACE_WORDS)}{suffix}"

    def word(self) -> str:
        return self.rng.choice(PLACE_WORDS)


def word(rng: random.Random) -> str:
    return rng.choice(PLACE_WORDS)


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN_CHARS)
    if rng.random() < 0.7:
        given += rng.choice(GIVEN_CHARS)
    return rng.choice(SURNAMES) + given


def chinese_number(n: int) -> str:
    """1..99 in Chinese numerals (第三中学, 第十二小学); larger numbers stay Arabic."""
    if n >= 100:
        return str(n)
    if n < 10:
        return NUMERALS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else NUMERALS[tens]) + "十" + (NUMERALS[ones] if ones else "")


# Dedicated grids (专属网格): the unit they cover, by kind; {w} is a place word, {n} a number.
DEDICATED_URBAN = [
    ("school", 30, ("{w}小学", "{w}中学", "云州市第{n}中学", "{w}实验学校")),
    ("hospital", 12, ("{d}人民医院", "{d}中医医院", "{d}妇幼保健院", "{w}医院")),
    ("park", 14, ("{w}公园", "{w}湿地公园", "{w}广场")),
    ("market", 20, ("{w}农贸市场", "{w}商贸城", "{w}菜市场")),
    ("enterprise", 12, ("{w}工业园", "云州{w}机械厂", "{w}物流园")),
    ("building", 12, ("{w}商务楼宇", "{w}大厦", "{w}国际广场")),
]
DEDICATED_RURAL = [
    ("school", 40, ("{t}中心学校", "{t}中学", "{w}小学")),
    ("enterprise", 40, ("{w}煤业公司", "{t}工业园", "{w}养殖合作社", "{w}光伏电站")),
    ("market", 20, ("{t}集贸市场", "{w}农产品市场")),
]

# Departments (职能部门): key -> (district name, county name, city name, English meaning).
# Keys are stable identifiers the other demo steps use (ctx.department("CG", area)).
DEPARTMENTS = {
    "CG": ("城管局", "城管局", "城市管理局", "urban management"),
    "ZJ": ("住建局", "住建局", "住房和城乡建设局", "housing and construction"),
    "GA": ("公安分局", "公安局", "公安局", "public security"),
    "MZ": ("民政局", "民政局", "民政局", "civil affairs"),
    "SF": ("司法局", "司法局", "司法局", "justice"),
    "YJ": ("应急管理局", "应急管理局", "应急管理局", "emergency management"),
    "SJ": ("市场监管局", "市场监管局", "市场监督管理局", "market regulation"),
    "HB": ("生态环境分局", "生态环境分局", "生态环境局", "ecology and environment"),
    "JT": ("交通运输局", "交通运输局", "交通运输局", "transport"),
    "SW": ("水务局", "水利局", "水务局", "water"),
    "WJ": ("卫健局", "卫健局", "卫生健康委员会", "health"),
    "JY": ("教育局", "教育局", "教育局", "education"),
    "RS": ("人社局", "人社局", "人力资源和社会保障局", "human resources and social security"),
    "ZR": ("自然资源分局", "自然资源局", "自然资源和规划局", "natural resources"),
}
# City-level only: public utilities that many cases are dispatched to.
CITY_UTILITIES = {
    "GD": ("国网云州供电公司", "power supply"),
    "GS": ("云州市供水集团", "water supply"),
    "RQ": ("云州市燃气公司", "gas"),
    "TX": ("云州市通信管理办公室", "telecommunications"),
}
# Every street and township has a comprehensive law-enforcement team (综合行政执法队).
STREET_DEPARTMENT = ("ZF", "综合行政执法队", "street law enforcement")
