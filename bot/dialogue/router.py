"""Picks the handler for a message: crisis first, then menu key or event, active form, or intent."""

from __future__ import annotations

import handlers
from bot import content
from bot.dialogue import classifier, crisis, faq, focus, forms, intents
from bot.dialogue.context import Call, Context, Step, dispatch, resolve
from bot.wechat.messages import SUBSCRIBE_MSG_EVENTS
from bot.wechat.replies import Reply, Success, Text
from handlers import crisis as crisis_handler
from handlers import fallback, greeting, reminders, subscription_events, template_events

# Message types a person sends that carry no text we can read (voice without a transcript included).
MEDIA_TYPES = frozenset({"image", "voice", "video", "shortvideo", "location", "link", "file"})
MAX_MISSES = 2


def route(ctx: Context) -> Step:
    msg = ctx.message
    if msg.is_event:
        return _route_event(ctx)
    if msg.text is None:
        return fallback.unsupported_media(ctx) if msg.msg_type in MEDIA_TYPES else Success()
    return _route_text(ctx)


def _route_text(ctx: Context) -> Step:
    # Safety before everything: no form, pending question or other state can skip this check.
    screening = crisis.screen(ctx.norm)
    signal = screening.signal
    if signal is not None:
        return _crisis(ctx, signal)
    crisis_source = crisis_handler.in_crisis_window(ctx)
    if crisis_source is not None:

        def record_then_answer() -> Reply:
            crisis_handler.record_followup_message(ctx, crisis_source)
            return resolve(_understand(ctx, screening))

        return Call(record_then_answer)
    return _understand(ctx, screening)


def _understand(ctx: Context, screening: crisis.Screening) -> Step:
    form = forms.active_form(ctx)
    # Asking for a person works from anywhere, even in the middle of a form.
    if classifier.exact_intent(ctx.norm) == "human":
        ctx.state.pop("form")
        ctx.state.pop("clarify")
        return _dispatch(ctx, "human")
    if forms.is_cancel(ctx.text):
        ctx.state.pop("clarify")
        return forms.cancel_form(ctx) if form else Text(content.text("nothing_to_cancel"))
    if form is not None:
        return forms.continue_form(ctx, form)

    chosen = _answer_to_clarification(ctx)
    if chosen is not None:
        return _dispatch(ctx, chosen)

    answer = faq.answer(ctx.norm)
    if answer is not None:
        ctx.state.pop("misses")
        return Text(answer)

    understood = classifier.understand(ctx.norm)
    heard = model_crisis(understood, screening, ctx.settings.CRISIS_MODEL_THRESHOLD)
    if heard is not None:
        return _crisis(ctx, heard)
    # The list the person just saw gets the next word ("2", "下一页", "报名") once safety has had its say.
    followed = focus.follow(ctx, understood)
    if followed is not None:
        ctx.state.pop("misses")
        return followed
    if understood.confidence < ctx.settings.INTENT_FALLBACK_BELOW:
        return _not_understood(ctx)
    if understood.intent == "crisis":
        # Below the alarm threshold the model's lean towards crisis means "unclear": ask, and offer help.
        return _clarify_or_offer_menu(ctx, understood)
    if _ambiguous(ctx, understood):
        return _clarify_or_offer_menu(ctx, understood)
    if understood.intent == "fallback":
        return _not_understood(ctx)
    if understood.intent == "greeting":
        ctx.state.pop("misses")
    return _dispatch(ctx, understood.intent)


def _dispatch(ctx: Context, intent: str) -> Step:
    focus.release_unless(ctx, intent)
    return dispatch(ctx, handlers.for_intent(intent))


def _crisis(ctx: Context, signal: crisis.CrisisSignal) -> Step:
    focus.release(ctx)
    return crisis_handler.handle(ctx, signal)


def model_crisis(
    understood: classifier.Understanding, screening: crisis.Screening, threshold: float
) -> crisis.CrisisSignal | None:
    """The rules missed it but the model hears a crisis: a false alarm is the accepted price.

    Not after an idiom was set aside (笑死, 累死): the model would only be hearing the 死 again.
    """
    vote = dict(understood.candidates).get("crisis", 0.0)
    if vote >= threshold and not screening.hyperbole:
        return crisis.CrisisSignal("model", f"model:{vote:.2f}")
    return None


def _not_understood(ctx: Context) -> Reply:
    if crisis_handler.in_crisis_window(ctx) is not None:
        # Shortly after a crisis, "I don't understand" is the wrong answer: stay with them, lines open.
        return Text(content.text("crisis_followup"))
    return _miss(ctx) or fallback.handle(ctx)


def _ambiguous(ctx: Context, understood: classifier.Understanding) -> bool:
    if understood.via == "keyword" and understood.confidence >= ctx.settings.INTENT_MIN_CONFIDENCE:
        return False
    options = [c for c in understood.candidates if classifier.label(c[0])]
    if understood.confidence < ctx.settings.INTENT_MIN_CONFIDENCE:
        return len(options) >= 1 and understood.intent != "fallback"
    second = understood.candidates[1][1] if len(understood.candidates) > 1 else 0.0
    return understood.confidence - second < ctx.settings.INTENT_MIN_MARGIN and len(options) >= 2


def _clarify_or_offer_menu(ctx: Context, understood: classifier.Understanding) -> Reply:
    missed = _miss(ctx)
    if missed is not None:
        return missed
    options = [intent for intent, _ in understood.candidates if classifier.label(intent)][:3]
    ctx.state.set("clarify", options)
    choices = "\n".join(f"{i}. {classifier.label(o)}" for i, o in enumerate(options, 1))
    return Text(content.text("clarify", choices=choices))


def _answer_to_clarification(ctx: Context) -> str | None:
    options = ctx.state.pop("clarify")
    if not isinstance(options, list):
        return None
    answer = ctx.norm.compact
    if answer.isdigit() and 1 <= int(answer) <= len(options):
        ctx.state.pop("misses")
        return str(options[int(answer) - 1])
    return None


def _miss(ctx: Context) -> Reply | None:
    """Count a turn we did not understand; after two in a row, offer the menu and a person."""
    misses = int(ctx.state.get("misses", 0) or 0) + 1
    if misses >= MAX_MISSES:
        ctx.state.pop("misses")
        return Text(content.text("menu_offer"))
    ctx.state.set("misses", misses)
    return None


def _route_event(ctx: Context) -> Step:
    event = (ctx.message.event or "").lower()
    if event == "subscribe":
        return greeting.welcome(ctx)
    if event == "unsubscribe":
        # The follower is gone: drop their conversation and erase their data (a database handler: worker).
        ctx.state.clear()
        return dispatch(ctx, reminders.forget)
    if event == "click":
        intent = intents.menu_intent(ctx.message.event_key)
        return _dispatch(ctx, intent) if intent else fallback.handle(ctx)
    if event in SUBSCRIBE_MSG_EVENTS:
        return subscription_events.record(ctx)  # the credit ledger; no passive reply
    if event == "templatesendjobfinish":
        return template_events.record(ctx)  # the outbox row's final outcome; no passive reply
    # VIEW, LOCATION and unknown events need no passive reply.
    return Success()
