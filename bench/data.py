"""A realistic synthetic data set, generated in batches of rows (no database here).

Shapes, all deterministic for a given seed:

- a few users write most articles (zipf over a random ranking of users, s = 0.9), and the
  same prolific authors attract most followers (each user follows 10-30 others, drawn by
  that ranking);
- tags are zipf-popular (s = 1.0): 0-5 per article, about 2.7 on average;
- favorites and comments per article are heavy-tailed (Pareto: mean about 3, 43 % of
  articles get none, at most 300), from zipf-active readers (s = 0.8);
- articles are spread over the last three years in id order; titles, descriptions and
  bodies (300-2000 characters) are lorem-ipsum-like text, comments 40-400 characters.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.scales import Scale

BATCH = 20_000
Row = tuple[Any, ...]

_WORDS_TEXT = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate "
    "velit esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident "
    "sunt culpa qui officia deserunt mollit anim id est laborum api server database query "
    "index cache latency request response design pattern service deploy release review async "
    "python rust web browser network thread process memory storage stream event schema "
    "migration test build debug profile metric trace log error retry timeout queue"
)
WORDS = tuple(_WORDS_TEXT.split())

_TAG_ROOTS_TEXT = (
    "python javascript typescript rust go java kotlin swift ruby elixir haskell scala clojure "
    "php csharp cpp react vue svelte angular node deno django fastapi flask rails spring "
    "postgres mysql sqlite redis kafka docker kubernetes terraform ansible linux aws gcp "
    "azure devops security testing design architecture performance databases frontend backend "
    "mobile android ios ml ai data career productivity opensource tutorial beginners webdev "
    "programming algorithms css html graphql rest grpc microservices serverless cloud git vim "
    "emacs tooling observability networking concurrency async functional oop"
)
TAG_ROOTS = tuple(_TAG_ROOTS_TEXT.split())

START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)


class Zipf:
    """Draws from `n` items ranked by a random permutation, P(rank r) ~ 1 / r**s."""

    def __init__(self, rng: random.Random, n: int, s: float) -> None:
        self._rng = rng
        self._population = range(n)
        self._cum = list(itertools.accumulate(1.0 / (rank**s) for rank in range(1, n + 1)))
        self.order = list(range(n))
        rng.shuffle(self.order)

    def draw(self, k: int) -> list[int]:
        """`k` item indices (0-based), popular ones more often."""
        picks = self._rng.choices(self._population, cum_weights=self._cum, k=k)
        order = self.order
        return [order[p] for p in picks]


@dataclass(frozen=True, slots=True)
class Batch:
    table: str
    columns: Sequence[str]
    rows: list[Row]


def tag_names(count: int) -> list[str]:
    """`count` distinct tag names: the roots first, then `root-root` pairs, then numbered."""
    names = list(TAG_ROOTS[:count])
    for a, b in itertools.product(TAG_ROOTS, TAG_ROOTS):
        if len(names) >= count:
            break
        if a != b:
            names.append(f"{a}-{b}")
    n = 0
    while len(names) < count:
        names.append(f"topic{n}")
        n += 1
    return names


class DataSet:
    """The rows of one scale. Iterate `batches()`; ids are 1-based and assigned here."""

    def __init__(self, scale: Scale, password_hash: str, seed: int = 20261122) -> None:
        self.scale = scale
        self.password_hash = password_hash
        self.rng = random.Random(seed)
        rng = self.rng
        self.authors = Zipf(rng, scale.users, 0.9)  # who writes, and who gets followed
        self.readers = Zipf(rng, scale.users, 0.8)  # who favorites and comments
        self.tag_popularity = Zipf(rng, scale.tags, 1.0)
        words = [rng.choice(WORDS) for _ in range(60_000)]
        self.corpus = " ".join(words)
        self.step = SPAN / scale.articles

    # --- helpers ---------------------------------------------------------------------

    def created_at(self, article_id: int) -> datetime:
        return START + self.step * (article_id - 1)

    def username(self, user_id: int) -> str:
        return f"{WORDS[user_id % len(WORDS)]}_{user_id}"

    def email(self, user_id: int) -> str:
        return f"user{user_id}@example.com"

    def _text(self, low: int, high: int) -> str:
        length = self.rng.randint(low, high)
        start = self.rng.randrange(len(self.corpus) - length)
        return self.corpus[start : start + length].strip().capitalize() or "Text"

    def _words(self, low: int, high: int) -> list[str]:
        return self.rng.choices(WORDS, k=self.rng.randint(low, high))

    # --- tables ----------------------------------------------------------------------

    def batches(self) -> Iterator[Batch]:
        yield from self.users()
        yield from self.tags()
        yield from self.articles()
        yield from self.article_tags()
        yield from self.follows()
        yield from self.favorites()
        yield from self.comments()

    def users(self) -> Iterator[Batch]:
        columns = (
            *("id", "username", "email", "password_hash", "bio", "image"),
            *("role", "active", "email_verified", "created_at", "updated_at"),
        )
        rows: list[Row] = []
        for user_id in range(1, self.scale.users + 1):
            bio = " ".join(self._words(5, 20)).capitalize() if self.rng.random() < 0.4 else None
            image = f"https://img.example.com/{user_id}.png" if self.rng.random() < 0.3 else None
            joined = START + SPAN * (user_id / (self.scale.users + 1)) * 0.5
            rows.append(
                (
                    user_id,
                    self.username(user_id),
                    self.email(user_id),
                    self.password_hash,
                    bio,
                    image,
                    "user",
                    True,
                    True,
                    joined,
                    joined,
                )
            )
            if len(rows) >= BATCH:
                yield Batch("users", columns, rows)
                rows = []
        yield Batch("users", columns, rows)

    def tags(self) -> Iterator[Batch]:
        rows: list[Row] = [(n, name) for n, name in enumerate(tag_names(self.scale.tags), 1)]
        yield Batch("tags", ("id", "name"), rows)

    def articles(self) -> Iterator[Batch]:
        columns = (
            *("id", "slug", "title", "description", "body", "author_id"),
            *("created_at", "updated_at"),
        )
        total = self.scale.articles
        for first in range(1, total + 1, BATCH):
            ids = range(first, min(first + BATCH, total + 1))
            authors = self.authors.draw(len(ids))
            rows: list[Row] = []
            for article_id, author in zip(ids, authors, strict=True):
                words = self._words(3, 8)
                title = " ".join(words).capitalize()
                slug = f"{'-'.join(words)}-{article_id:x}"
                created = self.created_at(article_id)
                rows.append(
                    (
                        article_id,
                        slug,
                        title,
                        " ".join(self._words(8, 20)).capitalize(),
                        self._text(300, 2000),
                        author + 1,
                        created,
                        created,
                    )
                )
            yield Batch("articles", columns, rows)

    def article_tags(self) -> Iterator[Batch]:
        counts = (0, 1, 2, 3, 4, 5)
        weights = (5, 15, 25, 25, 20, 10)
        most = min(5, self.scale.tags)
        columns = ("article_id", "tag_id", "article_created_at")
        rows: list[Row] = []
        for article_id in range(1, self.scale.articles + 1):
            wanted = min(self.rng.choices(counts, weights)[0], most)
            chosen: set[int] = set()
            while len(chosen) < wanted:
                chosen.update(self.tag_popularity.draw(wanted - len(chosen)))
            created = self.created_at(article_id)
            rows.extend((article_id, tag + 1, created) for tag in sorted(chosen)[:wanted])
            if len(rows) >= BATCH:
                yield Batch("article_tags", columns, rows)
                rows = []
        yield Batch("article_tags", columns, rows)

    def follows(self) -> Iterator[Batch]:
        users = self.scale.users
        mean = min(self.scale.follows_per_user, users - 1)
        rows: list[Row] = []
        for follower in range(1, users + 1):
            wanted = min(self.rng.randint(mean // 2, mean + mean // 2), users - 1)
            chosen: set[int] = set()
            for _ in range(20):  # popular authors repeat: draw again for the missing ones
                chosen.update(f + 1 for f in self.authors.draw(wanted - len(chosen)))
                chosen.discard(follower)
                if len(chosen) >= wanted:
                    break
            since = START + SPAN * self.rng.random()
            rows.extend((follower, followee, since) for followee in sorted(chosen)[:wanted])
            if len(rows) >= BATCH:
                yield Batch("follows", ("follower_id", "followee_id", "created_at"), rows)
                rows = []
        yield Batch("follows", ("follower_id", "followee_id", "created_at"), rows)

    def _engagements(self, cap: int) -> Iterator[tuple[int, int]]:
        """(article id, user id) pairs: per article a heavy-tailed count (Pareto, mean ~3,
        43 % of articles get none, at most `cap`), from distinct zipf-active readers."""
        for article_id in range(1, self.scale.articles + 1):
            wanted = min(int(2.1 * self.rng.paretovariate(1.6)) - 2, cap)
            if wanted <= 0:
                continue
            for user in self.readers.draw(wanted):
                yield article_id, user + 1

    def favorites(self) -> Iterator[Batch]:
        columns = ("user_id", "article_id", "created_at", "article_created_at")
        rows: list[Row] = []
        seen: set[int] = set()
        current = 0
        for article_id, user_id in self._engagements(min(300, self.scale.users)):
            if article_id != current:
                current, seen = article_id, set()
            if user_id in seen:
                continue  # favoriting twice counts once
            seen.add(user_id)
            created = self.created_at(article_id)
            rows.append((user_id, article_id, self._after(article_id), created))
            if len(rows) >= BATCH:
                yield Batch("favorites", columns, rows)
                rows = []
        yield Batch("favorites", columns, rows)

    def comments(self) -> Iterator[Batch]:
        columns = ("id", "body", "article_id", "author_id", "created_at", "updated_at")
        rows: list[Row] = []
        for comment_id, (article_id, user_id) in enumerate(self._engagements(300), 1):
            when = self._after(article_id)
            rows.append((comment_id, self._text(40, 400), article_id, user_id, when, when))
            if len(rows) >= BATCH:
                yield Batch("comments", columns, rows)
                rows = []
        yield Batch("comments", columns, rows)

    def _after(self, article_id: int) -> datetime:
        """A moment within 30 days after the article appeared (never in the future)."""
        moment = self.created_at(article_id) + timedelta(seconds=self.rng.randrange(30 * 86400))
        return min(moment, START + SPAN)

    def expected_rows(self) -> dict[str, int]:
        """Row counts for the progress bar (favorites: an upper bound, duplicates dropped)."""
        s = self.scale
        return {
            "users": s.users,
            "tags": s.tags,
            "articles": s.articles,
            "article_tags": round(s.articles * 2.7),
            "follows": s.follows,
            "favorites": s.engagements,
            "comments": s.engagements,
        }
