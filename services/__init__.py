"""Domain layer: models and use-cases shared by the webhook, the miniprogram API, the console, the scheduler."""
