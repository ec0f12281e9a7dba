"""Route selection expressions: the documented table, grammar and errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framer.router import BadRequestException
from framer.router._selection import parse

DOC_BODY = '{"service":"chat","action":"join","data":{"room":"room1234"}}'


@pytest.mark.parametrize("expression, expected", [
    ("$request.body.action", "join"),
    ("${request.body.action}", "join"),
    ("${request.body.service}/${request.body.action}", "chat/join"),
    ("${request.body.action}-${request.body.invalidPath}", "join-"),
    ("action", "action"),
    ("\\$default", "$default"),
])
def test_every_documented_example(expression: str, expected: str) -> None:
    assert parse(expression).evaluate(DOC_BODY) == expected


def test_nested_path() -> None:
    expr = parse("$request.body.service.do")
    assert expr.evaluate('{"message": "hi", "service": {"do": "echo"}}') == "echo"
    assert parse("$request.body.data.room").evaluate(DOC_BODY) == "room1234"


def test_braces_let_literals_follow() -> None:
    assert parse("${request.body.version}-beta").evaluate('{"version": "v2"}') == "v2-beta"


def test_bare_variable_runs_to_a_non_path_character() -> None:
    expr = parse("$request.body.a/$request.body.b")
    assert expr.evaluate('{"a": "x", "b": "y"}') == "x/y"


def test_missing_path_and_null_give_empty_string() -> None:
    expr = parse("$request.body.action")
    assert expr.evaluate('{"other": 1}') == ""
    assert expr.evaluate('{"action": null}') == ""
    assert expr.evaluate('[1, 2]') == ""
    assert expr.evaluate('"just a string"') == ""


def test_non_json_cannot_be_evaluated() -> None:
    assert parse("$request.body.action").evaluate("hello") is None
    assert parse("$request.body.action").evaluate("") is None


def test_static_expression_ignores_the_body() -> None:
    expr = parse("action")
    assert expr.is_static
    assert expr.evaluate("not json") == "action"


def test_stringification_of_non_strings() -> None:
    expr = parse("$request.body.v")
    assert expr.evaluate('{"v": 12}') == "12"
    assert expr.evaluate('{"v": 1.5}') == "1.5"
    assert expr.evaluate('{"v": true}') == "true"
    assert expr.evaluate('{"v": ["item1", "item2"]}') == "[item1, item2]"
    assert expr.evaluate('{"v": {"a": 1, "b": null}}') == "{a=1, b=null}"


def test_index_and_quoted_steps() -> None:
    assert parse("$request.body.items[1]").evaluate('{"items": ["a", "b"]}') == "b"
    assert parse("$request.body.items[5]").evaluate('{"items": ["a"]}') == ""
    assert parse("${request.body['odd key']}").evaluate('{"odd key": "k"}') == "k"


def test_whole_body() -> None:
    assert parse("$request.body").evaluate('{"a": "b"}') == "{a=b}"


def test_escaped_dollar_inside_text() -> None:
    assert parse("cost\\$${request.body.n}").evaluate('{"n": 5}') == "cost$5"


@pytest.mark.parametrize("expression, fragment", [
    ("", "required"),
    ("${request.body.action", "no closing"),
    ("$request.header.x", "unsupported variable $request.header.x"),
    ("$default", "\\$default"),
    ("a $ b", "starts no variable"),
    ("$request.body.a..b", "bad JSONPath step"),
])
def test_invalid_expressions_name_the_problem(expression: str, fragment: str) -> None:
    with pytest.raises(BadRequestException) as info:
        parse(expression)
    assert fragment in info.value.message
    assert info.value.status == 400


_keys = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd")),
                min_size=1, max_size=10)


@given(key=_keys, value=st.text(max_size=20))
def test_any_string_value_routes_to_itself(key: str, value: str) -> None:
    body = json.dumps({key: value})
    assert parse("${request.body." + key + "}").evaluate(body) == value


@given(literal=st.text(alphabet=st.characters(blacklist_characters="$\\"), min_size=1))
def test_text_without_dollar_is_static(literal: str) -> None:
    expr = parse(literal)
    assert expr.is_static
    assert expr.evaluate("{}") == literal
