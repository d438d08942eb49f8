"""The json filter syntax ``<path> <op> <value>``: what it reads, and what it refuses (422)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from visionhub.benchmarks.filters import (
    JsonFilter,
    parse_contains,
    parse_filter,
    parse_filters,
    parse_sort,
)
from visionhub.core.errors import Invalid


@pytest.mark.parametrize("op", ["==", ">", "<", ">=", "<="])
def test_every_operator_is_read_as_itself(op: str) -> None:
    # The original once answered ">=" as "==" (its issue #20).
    parsed = parse_filter(f"machine.cpu.count {op} 4")
    assert parsed == JsonFilter(("machine", "cpu", "count"), op, Decimal(4), "number")  # type: ignore[arg-type]


@pytest.mark.parametrize("op", ["==", ">", "<", ">=", "<="])
def test_spaces_around_the_operator_are_optional(op: str) -> None:
    assert parse_filter(f"result.score{op}2.5").op == op
    assert parse_filter(f"  result.score   {op}   2.5  ").value == Decimal("2.5")


@pytest.mark.parametrize(
    ("text", "value"),
    [("4", Decimal(4)), ("-2.5", Decimal("-2.5")), ("1e3", Decimal(1000)), (".5", Decimal("0.5"))],
)
def test_numbers_compare_as_numbers(text: str, value: Decimal) -> None:
    parsed = parse_filter(f"a >= {text}")
    assert (parsed.value, parsed.kind) == (value, "number")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("GenuineIntel", "GenuineIntel"),
        ("AMD EPYC Processor (with IBPB)", "AMD EPYC Processor (with IBPB)"),
        ('"4"', "4"),
        ("'4'", "4"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("4K", "4K"),
        ("1.2.0", "1.2.0"),
        ("'>= 4'", ">= 4"),
    ],
)
def test_other_values_compare_as_strings(text: str, value: str) -> None:
    parsed = parse_filter(f"machine.cpu.brand_raw == {text}")
    assert (parsed.value, parsed.kind) == (value, "string")


@pytest.mark.parametrize(("text", "kind"), [("true", "true"), ("false", "false"), ("null", "null")])
def test_true_false_and_null_match_those_json_values(text: str, kind: str) -> None:
    assert parse_filter(f"a.b == {text}").kind == kind


def test_true_false_and_null_cannot_be_ordered() -> None:
    with pytest.raises(Invalid) as caught:
        parse_filter("a.b >= true")
    assert caught.value.code == "invalid_filter"


def test_an_all_digit_part_indexes_an_array() -> None:
    assert parse_filter("machine.cpu.hz_actual.0 > 1").path == ("machine", "cpu", "hz_actual", "0")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "machine.cpu.count",
        "machine.cpu.count >=",
        "machine.cpu.count != 4",
        "machine.cpu.count => 4",
        "machine.cpu.count >> 4",
        "machine.cpu.count === 4",
        "machine.cpu.count <=> 4",
        ">= 4",
        "machine..count >= 4",
        ".machine >= 4",
        "machine. >= 4",
        "a >= 1e999999",
        'a == "unterminated',
        "a" + ".b" * 40 + " == 1",
    ],
)
def test_unreadable_filters_are_invalid_filter(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_filter(text)
    assert caught.value.code == "invalid_filter"
    assert caught.value.status == 422


def test_too_many_filters_are_refused() -> None:
    with pytest.raises(Invalid):
        parse_filters(["a == 1"] * 21)


def test_sort_paths_read_their_direction() -> None:
    assert parse_sort("result.score").descending is False
    assert parse_sort("+result.score").descending is False
    assert parse_sort("-result.score") == parse_sort("-result.score")
    assert parse_sort("-result.score").path == ("result", "score")
    with pytest.raises(Invalid):
        parse_sort("-")


def test_a_contains_document_is_a_json_object() -> None:
    text = '{"machine": {"cpu": {"flags": ["avx", "sse"], "count": 4}}, "ok": true}'
    assert parse_contains(text) == {
        "machine": {"cpu": {"flags": ["avx", "sse"], "count": 4}},
        "ok": True,
    }


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]",
        '"text"',
        "{not json",
        '{"a": NaN}',
        '{"a": [{"b": 1}]}',
        '{"a": [[1]]}',
        '{"0": 1}',
        '{"": 1}',
        '{"a": ' * 40 + "1" + "}" * 40,
        '{"a": "' + "x" * 10_000 + '"}',
    ],
)
def test_bad_contains_documents_are_invalid_contains(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_contains(text)
    assert (caught.value.status, caught.value.code) == (422, "invalid_contains")
