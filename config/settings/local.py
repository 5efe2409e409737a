"""Settings for `make run` on a developer's machine."""

from .base import *

DEBUG = env.bool("DEBUG", default=True)
LOG_FORMAT = env("LOG_FORMAT", default="console")
LOGGING = build_logging(LOG_FORMAT, LOG_LEVEL)
