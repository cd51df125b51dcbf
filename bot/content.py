"""Content staff edit without a deploy (`content/`): loaded on first use, validated by `content lint`.

In development, edited files are picked up without a restart (checked at most once a second).
"""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"

# Every reply the code says, with the placeholders the code fills in. `content lint` holds the texts to this.
PLACEHOLDERS: dict[str, set[str]] = {
    "welcome": set(),
    "greeting": set(),
    "fallback": set(),
    "apology": set(),
    "unsupported_media": set(),
    "form_cancelled": set(),
    "form_abandoned": set(),
    "nothing_to_cancel": set(),
    "crisis": set(),
    "crisis_followup": set(),
    "staff_crisis_alert": {"case_id", "category"},
    "staff_config_alert": {"appid", "api", "errcode", "meaning"},
    "help_12355": {"guidance", "hours_12355"},
    "help_12355_general": set(),
    "callback_intro": set(),
    "callback_age_prompt": set(),
    "callback_age_invalid": set(),
    "callback_guardian_prompt": set(),
    "callback_guardian_invalid": set(),
    "callback_phone_prompt": set(),
    "callback_phone_invalid": set(),
    "callback_time_prompt": set(),
    "callback_time_invalid": set(),
    "callback_done": {"case_id", "preferred_time", "phone"},
    "human_queued_open": {"case_id", "reply_within"},
    "human_queued_closed": {"case_id", "next_open"},
    "clarify": {"choices"},
    "menu_offer": set(),
    "traineeship_list": {"filters", "items", "more", "note"},
    "traineeship_filters": {"words"},
    "traineeship_item": {"district", "employer", "number", "stipend", "title"},
    "traineeship_stipend": {"amount"},
    "traineeship_stipend_unknown": set(),
    "traineeship_filter_stipend": {"amount"},
    "traineeship_more": set(),
    "traineeship_last": set(),
    "traineeship_no_match": {"words"},
    "traineeship_none": {"words"},
    "traineeship_none_at_all": set(),
    "traineeship_last_page": set(),
    "traineeship_no_such_number": {"last", "number"},
    "traineeship_pick_first": set(),
    "traineeship_options": {"apply"},
    "traineeship_options_apply": set(),
    "traineeship_detail": {
        "action",
        "conditions",
        "deadline",
        "description",
        "district",
        "employer",
        "field",
        "location",
        "positions",
        "stipend",
        "title",
    },
    "traineeship_no_deadline": set(),
    "traineeship_requirement_education": {"level"},
    "traineeship_requirement_age": {"high", "low"},
    "traineeship_requirement_residents": {"district"},
    "traineeship_requirement_none": set(),
    "traineeship_action_apply": set(),
    "traineeship_action_closed": set(),
    "traineeship_gone": set(),
    "traineeship_apply_intro": {"title"},
    "traineeship_apply_name_prompt": set(),
    "traineeship_apply_name_invalid": set(),
    "traineeship_apply_phone_prompt": set(),
    "traineeship_apply_phone_invalid": set(),
    "traineeship_apply_school_prompt": set(),
    "traineeship_apply_school_invalid": set(),
    "traineeship_apply_major_prompt": set(),
    "traineeship_apply_major_invalid": set(),
    "traineeship_apply_year_prompt": {"example"},
    "traineeship_apply_year_invalid": {"high", "low"},
    "traineeship_applied": {"phone", "title"},
    "traineeship_already_applied": {"status", "title"},
    "traineeship_not_eligible": {"reason", "title"},
    "traineeship_closed": {"title"},
    "traineeship_deadline_passed": {"title"},
    "traineeship_apply_failed": {"reason"},
    "traineeship_mine": {"items"},
    "traineeship_mine_item": {"employer", "note", "number", "status", "title"},
    "traineeship_mine_note": {"note"},
    "traineeship_mine_none": set(),
    "traineeship_mine_unknown_post": set(),
    "traineeship_status_submitted": set(),
    "traineeship_status_reviewing": set(),
    "traineeship_status_accepted": set(),
    "traineeship_status_declined": set(),
    "traineeship_status_withdrawn": set(),
    "traineeship_withdrawn": {"title"},
    "traineeship_withdraw_failed": {"reason"},
    "traineeship_withdraw_which": set(),
    "weekday_names": set(),
    "activity_when": {"day", "month", "time", "weekday"},
    "activity_list": {"filters", "items", "more"},
    "activity_filters": {"words"},
    "activity_item": {"number", "place", "seats", "title", "when"},
    "activity_seats_left": {"count"},
    "activity_seats_full": set(),
    "activity_seats_closed": set(),
    "activity_more": set(),
    "activity_last": set(),
    "activity_no_match": {"words"},
    "activity_none": {"words"},
    "activity_none_at_all": set(),
    "activity_last_page": set(),
    "activity_no_such_number": {"last", "number"},
    "activity_pick_first": set(),
    "activity_options": {"signup"},
    "activity_options_signup": set(),
    "activity_detail": {"action", "capacity", "category", "description", "place", "seats", "title", "when"},
    "activity_action_signup": set(),
    "activity_action_waitlist": set(),
    "activity_action_closed": set(),
    "activity_gone": set(),
    "activity_confirmed": {"place", "title", "when"},
    "activity_waitlisted": {"title"},
    "activity_already": {"status", "title"},
    "activity_not_eligible": {"reason", "title"},
    "activity_closed": {"reason", "title"},
    "activity_signup_failed": {"reason"},
    "activity_cancelled": {"title"},
    "activity_cancel_nothing": {"title"},
    "activity_cancel_which": set(),
    "activity_mine": {"items"},
    "activity_mine_item": {"number", "status", "title", "when"},
    "activity_mine_none": set(),
    "activity_status_confirmed": set(),
    "activity_status_waitlisted": set(),
    "activity_status_cancelled": set(),
    # reminders
    "reminders_name_activities": set(),
    "reminders_name_traineeships": set(),
    "reminders_name_matchmaking": set(),
    "reminders_name_wishes": set(),
    "reminders_topic_activities": {"leads"},
    "reminders_topic_traineeships": set(),
    "reminders_topic_matchmaking": set(),
    "reminders_topic_wishes": set(),
    "reminders_how": set(),
    "reminders_on": {"how", "items", "names"},
    "reminders_off": {"names", "still"},
    "reminders_still_on": {"names"},
    "reminders_off_all": set(),
    "reminders_status": {"how", "items"},
    "reminders_status_item": {"name", "state", "what"},
    "reminders_state_on": set(),
    "reminders_state_off": set(),
    "reminder_activity_title": set(),
    "reminder_activity_body": {"place", "title", "when"},
    "waitlist_closed_title": set(),
    "waitlist_closed_body": {"title"},
    "staff_case_digest": {"callback", "crisis", "human", "oldest_hours", "total", "urgent"},
    # matchmaking (handlers/matchmaking.py, handlers/matchmaking_forms.py)
    "match_list": {"items", "more"},
    "match_item": {"number", "place", "seats", "title", "when"},
    "match_seats_left": {"count"},
    "match_seats_balanced": {"female", "male"},
    "match_seats_full": set(),
    "match_more": set(),
    "match_last": set(),
    "match_none_at_all": set(),
    "match_last_page": set(),
    "match_no_such_number": {"last", "number"},
    "match_pick_first": set(),
    "match_options": set(),
    "match_detail": {"action", "ages", "description", "partner", "place", "review", "seats", "title", "when"},
    "match_partner": {"partner"},
    "match_ages": {"high", "low"},
    "match_ages_open": {"low"},
    "match_review_yes": set(),
    "match_review_no": set(),
    "match_action_signup": set(),
    "match_action_waitlist": set(),
    "match_action_closed": set(),
    "match_gone": set(),
    "match_adults_only": set(),
    "match_not_eligible": {"reason", "title"},
    "match_closed": {"reason", "title"},
    "match_failed": {"reason"},
    "match_already": {"status", "title"},
    "match_status_pending": set(),
    "match_status_approved": set(),
    "match_status_declined": set(),
    "match_status_waitlisted": set(),
    "match_status_cancelled": set(),
    "match_signed_pending": {"place", "title", "when"},
    "match_signed_approved": {"place", "title", "when"},
    "match_signed_waitlisted": {"title"},
    "match_cancelled": {"title"},
    "match_cancel_nothing": {"title"},
    "match_cancel_which": set(),
    "match_mine": {"items"},
    "match_mine_item": {"number", "status", "title", "when"},
    "match_mine_none": set(),
    "match_checkin_how": set(),
    "match_checkin_ok": {"title"},
    "match_checkin_failed": {"reason"},
    "match_profile_intro": set(),
    "match_consent_prompt": set(),
    "match_consent_invalid": set(),
    "match_nickname_prompt": set(),
    "match_nickname_invalid": set(),
    "match_age_prompt": set(),
    "match_age_invalid": set(),
    "match_gender_prompt": set(),
    "match_gender_invalid": set(),
    "match_occupation_prompt": set(),
    "match_occupation_invalid": set(),
    "match_intro_prompt": set(),
    "match_intro_invalid": set(),
    "match_profile_saved": set(),
    "match_profile_refused": {"reason"},
    "match_profile_needed": {"title"},
    "match_single_intro": {"title"},
    "match_single_prompt": set(),
    "match_single_invalid": set(),
    "match_withdraw_prompt": set(),
    "match_withdraw_invalid": set(),
    "match_withdrawn": {"count"},
    "match_withdraw_nothing": set(),
    # micro_wish (handlers/micro_wish.py, handlers/micro_wish_form.py)
    "wish_list": {"items", "more"},
    "wish_item": {"age", "alias", "district", "item", "number", "price"},
    "wish_more": set(),
    "wish_last": set(),
    "wish_last_page": set(),
    "wish_none": set(),
    "wish_no_such_number": {"last", "number"},
    "wish_pick_first": set(),
    "wish_options": {"claim"},
    "wish_options_claim": set(),
    "wish_detail": {"action", "age", "alias", "district", "item", "price", "story"},
    "wish_action_claim": set(),
    "wish_action_taken": set(),
    "wish_gone": set(),
    "wish_claimed": {"alias", "deadline", "item"},
    "wish_claim_failed": {"reason"},
    "wish_claims": {"items"},
    "wish_claims_item": {"alias", "extra", "item", "number", "status"},
    "wish_claims_deadline": {"deadline"},
    "wish_claims_none": set(),
    "wish_deliver_which": set(),
    "wish_deliver_nothing": set(),
    "wish_delivered": {"item"},
    "wish_mine": {"items"},
    "wish_mine_item": {"extra", "item", "number", "status"},
    "wish_mine_info": {"question"},
    "wish_mine_rejected": {"reason"},
    "wish_mine_delivered": set(),
    "wish_mine_none": set(),
    "wish_receive_which": set(),
    "wish_receive_nothing": set(),
    "wish_received": {"item", "thanks"},
    "wish_received_thanks": set(),
    "wish_info_nothing": set(),
    "wish_info_done": {"item"},
    "wish_failed": {"reason"},
    "wish_status_submitted": set(),
    "wish_status_needs_info": set(),
    "wish_status_approved": set(),
    "wish_status_rejected": set(),
    "wish_status_claimed": set(),
    "wish_status_delivered": set(),
    "wish_status_received": set(),
    "wish_status_closed": set(),
    "wish_form_intro": set(),
    "wish_for_prompt": set(),
    "wish_for_invalid": set(),
    "wish_age_prompt": set(),
    "wish_age_invalid": set(),
    "wish_guardian_prompt": set(),
    "wish_guardian_invalid": set(),
    "wish_alias_prompt": set(),
    "wish_alias_invalid": set(),
    "wish_district_prompt": set(),
    "wish_district_invalid": set(),
    "wish_item_prompt": set(),
    "wish_item_invalid": set(),
    "wish_story_prompt": set(),
    "wish_story_invalid": set(),
    "wish_price_prompt": set(),
    "wish_price_invalid": set(),
    "wish_phone_prompt": set(),
    "wish_phone_invalid": set(),
    "wish_submitted": {"wish_id"},
    "wish_submit_failed": {"reason"},
}
REQUIRED_TEXTS = tuple(PLACEHOLDERS)


class ContentError(ValueError):
    pass


_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()
_watch = {"enabled": False, "checked": 0.0}
_on_reload: list[Callable[[], None]] = []


def watch_for_changes(enabled: bool = True) -> None:
    """Development: re-read files whose modification time changed (checked at most once a second)."""
    _watch["enabled"] = enabled


def on_reload(callback: Callable[[], None]) -> None:
    """Run `callback` whenever content is re-read, so derived data (compiled rules, models) is rebuilt."""
    _on_reload.append(callback)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ContentError(f"{path}: {exc}") from exc


def _check_for_changes() -> None:
    now = time.monotonic()
    if now - _watch["checked"] < 1.0:
        return
    _watch["checked"] = now
    changed = False
    for name, (mtime, _) in list(_cache.items()):
        try:
            if (CONTENT_DIR / name).stat().st_mtime != mtime:
                changed = True
        except OSError:
            changed = True
    if changed:
        reload()


def _load(name: str) -> dict[str, Any]:
    if _watch["enabled"]:
        _check_for_changes()
    cached = _cache.get(name)
    if cached is not None:
        return cached[1]
    with _lock:
        path = CONTENT_DIR / name
        data = _read(path)
        _cache[name] = (path.stat().st_mtime, data)
        return data


def replies() -> dict[str, str]:
    data = _load("replies.toml")
    missing = [key for key in REQUIRED_TEXTS if not isinstance(data.get(key), str) or not data[key].strip()]
    if missing:
        raise ContentError("content/replies.toml lacks texts: " + ", ".join(missing))
    return data


def text(key: str, **values: object) -> str:
    template = replies()[key]
    return template.format(**values) if values else template


def intents() -> dict[str, Any]:
    return _load("intents.toml")


def intent_examples() -> dict[str, Any]:
    return _load("intent_examples.toml")


def help_directory() -> dict[str, Any]:
    return _load("help_directory.toml")


def crisis() -> dict[str, Any]:
    return _load("crisis.toml")


def faq() -> dict[str, Any]:
    return _load("faq.toml")


def menu() -> dict[str, Any]:
    return _load("menu.toml")


def safety() -> dict[str, Any]:
    return _load("safety.toml")


def reload() -> None:
    with _lock:
        _cache.clear()
    for callback in _on_reload:
        callback()
