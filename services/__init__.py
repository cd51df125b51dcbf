"""Domain layer: models and use-cases shared by the webhook, the API, the console and the scheduler."""
