"""The kNN router: the majority target tier of the static-bank rows nearest to the last messages.

Features are hashed words (crc32 into 2^16 buckets, the same in every process),
TF-IDF weighted and L2-normalised; similarity is cosine; numpy only.
"""

import functools
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from simulator.bank import gold_tier_id, load_bank, serving_tier
from simulator.config import Pool
from simulator.routers.builtin import spec_number, spec_params
from simulator.routers.protocol import RouterContext, RouterDecision
from simulator.text import billable_text


def knn_params(spec: str) -> dict[str, str] | None:
    """Parameters of a `knn:` spec, None for other routers."""
    name, _, arg = spec.partition(":")
    return spec_params("knn", arg, ("bank", "k")) if name == "knn" else None


WORD = re.compile(r"\w+")
DIMS = 2**16
LAST_MESSAGES = 2


def _token_counts(messages: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Hashed word counts of the last messages (crc32: the same buckets in every process)."""
    words = WORD.findall(" ".join(billable_text(m) for m in messages[-LAST_MESSAGES:]).lower())
    buckets = np.fromiter((zlib.crc32(w.encode()) % DIMS for w in words), dtype=np.int64, count=len(words))
    return np.unique(buckets, return_counts=True)


class KnnIndex:
    """Rows of a bank as L2-normalised TF-IDF vectors over hashed words (sparse, numpy only)."""

    def __init__(self, rows: list[dict]) -> None:
        if not rows:
            raise ValueError("a kNN router needs at least one training row")
        counts = [_token_counts(r["messages"]) for r in rows]
        df = np.zeros(DIMS)
        for buckets, _ in counts:
            df[buckets] += 1
        self.idf = np.log((1 + len(rows)) / (1 + df)) + 1
        self.buckets = np.concatenate([b for b, _ in counts])
        self.weights = np.concatenate([self._weights(b, c) for b, c in counts])
        self.owner = np.repeat(np.arange(len(rows)), [len(b) for b, _ in counts])
        self.tiers = np.array([gold_tier_id(r) for r in rows])

    def _weights(self, buckets: np.ndarray, counts: np.ndarray) -> np.ndarray:
        w = (1 + np.log(counts)) * self.idf[buckets]
        norm = np.linalg.norm(w)
        return w / norm if norm else w

    def neighbours(self, messages: list[dict], k: int) -> np.ndarray:
        """Tier ids of the k most similar rows (cosine; ties by bank order)."""
        buckets, counts = _token_counts(messages)
        query = np.zeros(DIMS)
        query[buckets] = self._weights(buckets, counts)
        similarity = np.bincount(self.owner, weights=query[self.buckets] * self.weights, minlength=len(self.tiers))
        order = np.lexsort((np.arange(len(similarity)), -similarity))
        return self.tiers[order[:k]]


@functools.lru_cache(maxsize=8)
def _index_of(path: str, mtime_ns: int) -> KnnIndex:
    return KnnIndex(load_bank(path))


@dataclass
class KnnRouter:
    """Majority tier of the k bank rows nearest to the last 2 messages; ties go to the cheaper tier.

    bank=PATH       a static bank, e.g. from `twinsim label --out`
    k=N             neighbours (default 5)

    Features: hashed words (2^16 buckets), TF-IDF, L2-normalised, cosine. The
    voted tier is served by the cheapest pool tier at least as strong.
    """

    syntax: ClassVar[str] = "knn:bank=PATH[,k=N]"
    index: KnnIndex
    k: int
    pool: Pool

    @classmethod
    def from_spec(cls, text: str, pool: Pool) -> "KnnRouter":
        """`bank=PATH[,k=5]`."""
        params = knn_params(f"knn:{text}")
        if "bank" not in params:
            raise ValueError("knn needs bank=PATH (a static bank, e.g. from `twinsim label --out`)")
        path = Path(params["bank"])
        if not path.is_file():
            raise ValueError(f"knn: no bank file {path}")
        return cls(
            _index_of(str(path.resolve()), path.stat().st_mtime_ns),
            spec_number(int, "k", params.get("k", "5"), 1),
            pool,
        )

    def select(self, ctx: RouterContext) -> RouterDecision:
        votes = Counter(int(t) for t in self.index.neighbours(list(ctx.messages), self.k))
        voted = min(votes, key=lambda t: (-votes[t], t))
        tier = serving_tier(self.pool, voted)
        return RouterDecision(tier.model_id, f"knn votes {dict(sorted(votes.items()))}")
