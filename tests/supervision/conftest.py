"""The API fixtures (``api``, ``story_api``) for the supervision tests."""

from tests.api.conftest import api, story_api  # noqa: F401 - fixtures
