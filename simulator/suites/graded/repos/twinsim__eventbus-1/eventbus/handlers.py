from dataclasses import dataclass
from typing import Callable


@dataclass
class Handler:
    func: Callable
    once: bool = False
