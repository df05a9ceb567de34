"""The users' field limits, read by their schemas (validation, the OpenAPI document) and by
their models (column sizes)."""

USERNAME_MAX = 64
EMAIL_MAX = 254
PASSWORD_MIN = 8
PASSWORD_MAX = 256
BIO_MAX = 4096
IMAGE_MAX = 2048
