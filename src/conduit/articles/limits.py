"""The articles' field limits, read by their schemas (validation, the OpenAPI document) and
by their models (column sizes)."""

TITLE_MAX = 255
DESCRIPTION_MAX = 1024
BODY_MAX = 65536
TAG_MAX = 64
TAGS_PER_ARTICLE_MAX = 20
SLUG_MAX = 300
