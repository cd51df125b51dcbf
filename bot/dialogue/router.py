"""Picks the handler for a message: by event type, menu key, active conversation, or intent."""

from __future__ import annotations

import handlers
from bot.dialogue import forms, intents
from bot.dialogue.context import Context
from bot.wechat.replies import Reply, Success, Text
from handlers import fallback, greeting

# Message types a person sends that carry no text we can read (voice without a transcript included).
MEDIA_TYPES = frozenset({"image", "voice", "video", "shortvideo", "location", "link", "file"})


def route(ctx: Context) -> Reply:
    msg = ctx.message
    if msg.is_event:
        return _route_event(ctx)
    if msg.text is None:
        return fallback.unsupported_media(ctx) if msg.msg_type in MEDIA_TYPES else Success()
    return _route_text(ctx)


def _route_text(ctx: Context) -> Reply:
    # Crisis detection (issue 4) goes first here, before forms, so that no state can bypass it.
    form = forms.active_form(ctx)
    if forms.is_cancel(ctx.text):
        return forms.cancel_form(ctx) if form else Text(forms.content_text("nothing_to_cancel"))
    if form is not None:
        return forms.continue_form(ctx, form)
    return handlers.for_intent(intents.classify(ctx.text))(ctx)


def _route_event(ctx: Context) -> Reply:
    event = (ctx.message.event or "").lower()
    if event == "subscribe":
        return greeting.welcome(ctx)
    if event == "unsubscribe":
        # The follower is gone: drop their conversation. Erasing personal data arrives with issue 7.
        ctx.state.clear()
        return Success()
    if event == "click":
        intent = intents.menu_intent(ctx.message.event_key)
        return handlers.for_intent(intent)(ctx) if intent else fallback.handle(ctx)
    # VIEW, LOCATION, TEMPLATESENDJOBFINISH, subscribe_msg_* and unknown events need no passive reply.
    return Success()
