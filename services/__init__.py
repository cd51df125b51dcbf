"""Domain layer: models and use-cases shared by the webhook, the API, the console and the scheduler."""

from services import (
    models_delivery,  # noqa: F401  (subscription credits, notices, outbox)
    models_matchmaking,  # noqa: F401  (matchmaking events, profiles, sign-ups)
    models_reminders,  # noqa: F401  (reminder preferences, reminders sent)
    models_staff,  # noqa: F401  (staff console tables: complete metadata)
    models_wishes,  # noqa: F401  (micro-wishes)
)
