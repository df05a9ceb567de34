"""The comments' field limits, read by their schemas."""

COMMENT_MAX = 16384
