"""Every domain's models, imported in one place for Alembic and the mapper registry."""

from conduit.articles.models import Article, ArticleCount, ArticleTag, Favorite, Tag
from conduit.auth.models import ApiKey, AuthSession, EmailToken, RefreshToken
from conduit.comments.models import Comment
from conduit.core.db import Base
from conduit.idempotency.models import IdempotencyRecord
from conduit.outbox.models import OutboxMail
from conduit.users.models import Follow, User

__all__ = [
    "ApiKey",
    "Article",
    "ArticleCount",
    "ArticleTag",
    "AuthSession",
    "Base",
    "Comment",
    "EmailToken",
    "Favorite",
    "Follow",
    "IdempotencyRecord",
    "OutboxMail",
    "RefreshToken",
    "Tag",
    "User",
]
