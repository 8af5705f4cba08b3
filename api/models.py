"""Every ORM model, imported once so that Alembic and the tests see the whole schema."""

from api.accounts import models as accounts_models
from api.events import models as events_models
from api.face import models as face_models

__all__ = ["accounts_models", "events_models", "face_models"]
