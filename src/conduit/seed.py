"""Demo data for `conduit seed`, written through the services like any client would."""

from __future__ import annotations

import random

from rich.progress import Progress

from conduit.articles.schemas import ArticleCreate
from conduit.articles.service import ArticleService
from conduit.auth.service import AuthService
from conduit.comments.schemas import CommentCreate
from conduit.comments.service import CommentService
from conduit.core.cache import create_cache
from conduit.core.config import Settings
from conduit.core.db import Database
from conduit.core.security import PasswordHasher, TokenCodec
from conduit.users.profiles import ProfileService
from conduit.users.protection import AccountProtection
from conduit.users.schemas import UserCreate
from conduit.users.service import UserService

TAGS = ["python", "fastapi", "sql", "async", "testing", "design", "security", "devops"]
WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


async def seed_database(settings: Settings, *, users: int, articles: int, password: str) -> None:
    rng = random.Random(20261122)  # noqa: S311 - demo data, not security
    db = Database(settings)
    cache = create_cache(settings)  # a running server's shared cache learns of the new data
    passwords, tokens = PasswordHasher(settings), TokenCodec(settings)
    accounts = AccountProtection(settings, passwords, db)
    suffix = f"{rng.randrange(10**6):06d}"
    names: list[str] = []
    slugs: list[str] = []
    try:
        with Progress() as progress:
            task = progress.add_task("users", total=users)
            for n in range(users):
                name = f"demo{suffix}_{n}"
                async with db.session() as session:
                    await UserService(session, accounts, AuthService(session, tokens)).register(
                        UserCreate(username=name, email=f"{name}@example.com", password=password)
                    )
                names.append(name)
                progress.advance(task)

            task = progress.add_task("articles", total=users * articles)
            async with db.session() as session:
                user_service = UserService(session, accounts, AuthService(session, tokens))
                profiles = ProfileService(session)
                article_service = ArticleService(session, cache)
                comment_service = CommentService(session)
                authors = {}
                for name in names:
                    user = await user_service.users.get_by_username(name)
                    assert user is not None
                    authors[name] = user
                for name in names:
                    for _ in range(articles):
                        article = await article_service.create(
                            authors[name],
                            ArticleCreate(
                                title=_sentence(rng, 4),
                                description=_sentence(rng, 10),
                                body="\n\n".join(_sentence(rng, 40) for _ in range(3)),
                                tag_list=rng.sample(TAGS, k=rng.randint(1, 3)),
                            ),
                        )
                        slugs.append(article.slug)
                        progress.advance(task)

                task = progress.add_task("follows, favorites, comments", total=len(names))
                for name in names:
                    viewer = await user_service.users.get_by_username(name)
                    assert viewer is not None
                    for other in rng.sample(names, k=min(3, len(names))):
                        if other != name:
                            await profiles.follow(viewer.id, other)
                    for slug in rng.sample(slugs, k=min(5, len(slugs))):
                        await article_service.favorite(viewer.id, slug)
                        await comment_service.add(
                            slug, viewer, CommentCreate(body=_sentence(rng, 12))
                        )
                    progress.advance(task)
    finally:
        await cache.close()
        await db.dispose()
    print(f"seeded {len(names)} users (password from --password), {len(slugs)} articles")
