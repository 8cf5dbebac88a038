from .evaluator import evaluate
from .lexer import tokenize

__all__ = ["evaluate", "tokenize"]
