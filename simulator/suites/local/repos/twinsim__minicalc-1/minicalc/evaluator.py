"""Evaluate arithmetic expressions with + - * / and parentheses."""
from .lexer import tokenize


def evaluate(text):
    tokens = tokenize(text)
    value, pos = _expr(tokens, 0)
    if pos != len(tokens):
        raise ValueError(f"unexpected token {tokens[pos][1]!r}")
    return value


def _expr(tokens, pos):
    value, pos = _term(tokens, pos)
    while pos < len(tokens) and tokens[pos] in (("op", "+"), ("op", "-")):
        op = tokens[pos][1]
        rhs, pos = _term(tokens, pos + 1)
        value = value + rhs if op == "+" else value - rhs
    return value, pos


def _term(tokens, pos):
    value, pos = _factor(tokens, pos)
    while pos < len(tokens) and tokens[pos] in (("op", "*"), ("op", "/")):
        op = tokens[pos][1]
        rhs, pos = _factor(tokens, pos + 1)
        value = value * rhs if op == "*" else value / rhs
    return value, pos


def _factor(tokens, pos):
    if pos >= len(tokens):
        raise ValueError("unexpected end of expression")
    kind, val = tokens[pos]
    if kind == "num":
        return val, pos + 1
    if val == "-":
        value, pos = _factor(tokens, pos + 1)
        return -value, pos
    if val == "(":
        value, pos = _expr(tokens, pos + 1)
        if pos >= len(tokens) or tokens[pos] != ("op", ")"):
            raise ValueError("missing ')'")
        return value, pos + 1
    raise ValueError(f"unexpected token {val!r}")
