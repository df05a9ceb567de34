"""Request and response schemas for articles, favorites and tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from conduit.articles.limits import (
    BODY_MAX,
    DESCRIPTION_MAX,
    SLUG_MAX,
    TAG_MAX,
    TAGS_PER_ARTICLE_MAX,
    TITLE_MAX,
)
from conduit.core.pagination import Page, PageQuery
from conduit.core.schemas import (
    FILLED,
    TEXT,
    CamelModel,
    Timestamp,
    clean_text,
    not_blank,
    raw_max_length,
)
from conduit.users.schemas import CleanName, ProfileRead

# A path or query string parameter: text as `clean_text` lets it through, its length checked
# first, as a string's ("at most 64 characters"). A limit added where such a type is
# declared (`Path(max_length=...)`, or on `... | None`) would be checked after the
# validator, as any value's length: "at most 64 items".
CleanTag = Annotated[str, StringConstraints(max_length=TAG_MAX), AfterValidator(clean_text), TEXT]
CleanSlug = Annotated[str, StringConstraints(max_length=SLUG_MAX), AfterValidator(clean_text), TEXT]


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """Which articles a list shows (query parameters, or the signed-in user's feed)."""

    tag: str | None = None
    author: str | None = None
    favorited_by: str | None = None
    feed_of: int | None = None  # user id whose followed authors make the feed


class _ListFilters(BaseModel):
    tag: CleanTag | None = Field(None, description="Tag name.")
    author: CleanName | None = Field(None, description="Author's username.")
    favorited: CleanName | None = Field(None, description="Username of a user who favorited them.")


class ArticleListQuery(PageQuery, _ListFilters):
    """`GET /articles`' query string: the filters, then the page (the fields' order)."""

    def where(self) -> ArticleFilter:
        return ArticleFilter(tag=self.tag, author=self.author, favorited_by=self.favorited)

    def listing(self) -> tuple[ArticleFilter, Page]:
        return self.where(), self.to_page()


def _unique_sorted(tags: list[str]) -> list[str]:
    return sorted(set(tags))


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX),
    raw_max_length(TITLE_MAX),
    AfterValidator(clean_text),
    FILLED,
]
Description = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=DESCRIPTION_MAX),
    raw_max_length(DESCRIPTION_MAX),
    AfterValidator(clean_text),
    FILLED,
]
Body = Annotated[
    str,
    StringConstraints(min_length=1, max_length=BODY_MAX),
    AfterValidator(not_blank),
    FILLED,
    Field(description="Markdown."),
]
TagName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_MAX),
    raw_max_length(TAG_MAX),
    AfterValidator(clean_text),
    FILLED,
]
TagList = Annotated[
    list[TagName],
    Field(max_length=TAGS_PER_ARTICLE_MAX, description="Stored without duplicates, sorted."),
    AfterValidator(_unique_sorted),
]


class ArticleCreate(CamelModel):
    title: Title
    description: Description
    body: Body
    tag_list: TagList = Field(default_factory=list)


class ArticleUpdate(CamelModel):
    """Every field optional, none nullable; only the fields sent are changed.

    Leaving `tagList` out keeps the tags; `[]` removes them all.
    """

    title: Title = Field(default=None)  # type: ignore[assignment]
    description: Description = Field(default=None)  # type: ignore[assignment]
    body: Body = Field(default=None)  # type: ignore[assignment]
    tag_list: TagList = Field(default=None)  # type: ignore[arg-type]


class ArticleListItem(CamelModel):
    slug: str
    title: str
    description: str
    tag_list: list[str]
    created_at: Timestamp
    updated_at: Timestamp
    favorited: bool
    favorites_count: int
    author: ProfileRead


class ArticleRead(ArticleListItem):
    body: str


class NewArticleRequest(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "article": {
                        "title": "How to train your dragon",
                        "description": "Ever wonder how?",
                        "body": "You have to believe",
                        "tagList": ["reactjs", "angularjs", "dragons"],
                    }
                }
            ]
        }
    )

    article: ArticleCreate


class UpdateArticleRequest(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"article": {"title": "Did you train your dragon?"}}]}
    )

    article: ArticleUpdate


class SingleArticleResponse(CamelModel):
    article: ArticleRead


class MultipleArticlesResponse(CamelModel):
    articles: list[ArticleListItem]
    articles_count: int = Field(description="How many articles match, over all pages.")


class TagsResponse(CamelModel):
    tags: list[str] = Field(description="Tags in use, most used first.")
