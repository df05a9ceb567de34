"""Data-set sizes: articles, and everything else in proportion to them."""

from __future__ import annotations

from dataclasses import dataclass

ENGAGEMENTS_PER_ARTICLE = 2.96  # mean of bench.data's heavy-tailed per-article draw


@dataclass(frozen=True, slots=True)
class Scale:
    name: str
    articles: int
    users: int
    tags: int
    follows_per_user: int = 20  # mean; each user follows 10-30 others (fewer if few users)

    @property
    def follows(self) -> int:
        return self.users * min(self.follows_per_user, self.users - 1)

    @property
    def engagements(self) -> int:
        """About how many favorites, and how many comments: ~3 per article (bench.data)."""
        return round(self.articles * ENGAGEMENTS_PER_ARTICLE)


SCALES: dict[str, Scale] = {
    # `tiny` is for the test of the seeder and quick smoke runs, not for figures.
    "tiny": Scale("tiny", articles=300, users=40, tags=30),
    "small": Scale("small", articles=10_000, users=1_000, tags=200),
    "medium": Scale("medium", articles=100_000, users=10_000, tags=1_000),
    "large": Scale("large", articles=1_000_000, users=100_000, tags=5_000),
}
