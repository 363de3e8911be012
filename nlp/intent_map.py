"""How the public intent data sets map onto our seven intents.

Many source intents fit more than one of ours ("track my refund" is a question or a request
depending on wording), so each maps to the set of intents it allows; training only asks the
model to put its probability somewhere inside that set.
"""

from __future__ import annotations

import re

Q, R = "question", "request"
COMPLAINT, CANCEL, BUY, PRAISE, OTHER = "complaint", "cancellation", "purchase_interest", "praise", "other"

BITEXT: dict[str, tuple[str, ...]] = {
    "cancel_order": (CANCEL,),
    "delete_account": (CANCEL,),
    "get_refund": (CANCEL, COMPLAINT),
    "complaint": (COMPLAINT,),
    "payment_issue": (COMPLAINT,),
    "registration_problems": (COMPLAINT,),
    "place_order": (BUY,),
    "check_cancellation_fee": (Q,),
    "check_invoice": (Q, R),
    "check_payment_methods": (Q,),
    "check_refund_policy": (Q,),
    "delivery_options": (Q,),
    "delivery_period": (Q,),
    "track_order": (Q,),
    "track_refund": (Q,),
    "review": (R, PRAISE, COMPLAINT),
}  # everything else: a question or a request, by wording

# Banking77: things going wrong for the customer.
BANKING_PROBLEMS = {
    "Refund_not_showing_up", "balance_not_updated_after_bank_transfer", "beneficiary_not_allowed",
    "balance_not_updated_after_cheque_or_cash_deposit", "card_not_working", "card_payment_fee_charged",
    "card_payment_not_recognised", "card_payment_wrong_exchange_rate", "card_swallowed",
    "cash_withdrawal_not_recognised",
    "compromised_card", "contactless_not_working", "declined_card_payment", "declined_cash_withdrawal",
    "declined_transfer", "direct_debit_payment_not_recognised", "extra_charge_on_statement", "failed_transfer",
    "lost_or_stolen_card", "lost_or_stolen_phone", "pin_blocked", "top_up_failed", "top_up_reverted",
    "transaction_charged_twice", "transfer_not_received_by_recipient", "unable_to_verify_identity",
    "virtual_card_not_working", "wrong_amount_of_cash_received", "wrong_exchange_rate_for_cash_withdrawal",
}  # fmt: skip
# Waiting or fees: a question from some, a complaint from others.
BANKING_MAYBE_PROBLEMS = {
    "card_arrival", "pending_card_payment", "pending_cash_withdrawal", "pending_top_up", "pending_transfer",
    "reverted_card_payment?", "cash_withdrawal_charge", "exchange_charge", "transfer_fee_charged",
    "top_up_by_card_charge", "top_up_by_bank_transfer_charge",
}  # fmt: skip
BANKING_URGENT = {
    "compromised_card", "lost_or_stolen_card", "lost_or_stolen_phone", "card_payment_not_recognised",
    "cash_withdrawal_not_recognised", "direct_debit_payment_not_recognised", "transaction_charged_twice",
    "wrong_amount_of_cash_received", "card_swallowed",
}  # fmt: skip

CLINC_OTHER = {
    "oos", "are_you_a_bot", "do_you_have_pets", "flip_coin", "fun_fact", "goodbye", "greeting", "how_old_are_you",
    "maybe", "meaning_of_life", "no", "yes", "repeat", "roll_dice", "tell_joke", "what_are_your_hobbies",
    "what_is_your_name", "where_are_you_from", "who_made_you", "who_do_you_work_for", "change_accent", "change_ai_name",
    "change_speed", "change_volume", "whisper_mode", "user_name", "what_can_i_ask_you", "cancel", "spelling",
    "calculator", "measurement_conversion", "translate", "definition", "time", "date", "timezone", "weather",
}  # fmt: skip
CLINC_COMPLAINT = {
    "damaged_card",
    "card_declined",
    "account_blocked",
    "lost_luggage",
    "report_fraud",
    "report_lost_card",
}
CLINC_URGENT = {"report_fraud", "report_lost_card"}
CLINC_REQUEST = {
    "alarm", "timer", "reminder", "reminder_update", "play_music", "make_call", "text", "smart_home",
    "shopping_list_update", "todo_list_update", "calendar_update", "share_location", "sync_device", "reset_settings",
    "change_language", "update_playlist", "next_song", "uber", "pto_request", "schedule_meeting",
    "schedule_maintenance", "transfer", "pay_bill", "order_checks", "freeze_account", "new_card", "pin_change",
    "credit_limit_change", "insurance_change", "change_user_name", "rollover_401k", "travel_notification",
    "redeem_rewards", "cancel_reservation", "confirm_reservation", "restaurant_reservation", "direct_deposit",
}  # fmt: skip
CLINC_BUY = {"order", "book_flight", "book_hotel", "car_rental"}


def bitext(intent: str) -> tuple[str, ...]:
    return BITEXT.get(intent, (Q, R))


def banking(intent: str) -> tuple[str, ...]:
    if intent == "terminate_account":
        return (CANCEL,)
    if intent == "request_refund":
        return (CANCEL, COMPLAINT, R)
    if intent == "cancel_transfer":
        return (R,)
    if intent in BANKING_PROBLEMS:
        return (COMPLAINT,)
    if intent in BANKING_MAYBE_PROBLEMS:
        return (COMPLAINT, Q)
    return (Q, R)


def clinc(intent: str) -> tuple[str, ...]:
    if intent == "thank_you":
        return (PRAISE,)
    if intent in CLINC_OTHER:
        return (OTHER,)
    if intent in CLINC_COMPLAINT:
        return (COMPLAINT,)
    if intent in CLINC_BUY:
        return (BUY, R)
    if intent in CLINC_REQUEST:
        return (R,)
    return (Q,)


# Where a source intent allows "question or request", the wording usually decides.
_ASKS_INFO = re.compile(
    r"^\s*(?:(?:can|could) you (?:tell|show|explain)|do you know|how|what|when|where|which|why|who|whom|is|are|am|was|"
    r"do|does|did|(?:can|could|should|may|must) i|is there|are there)\b",
    re.IGNORECASE,
)
_ASKS_ACTION = re.compile(
    r"^\s*(?:please|pls|(?:can|could|would|will) you|i (?:want|need|would like|'d like)|i'd like|help me|"
    r"i wanna|let me|i have to|send|change|update|cancel|reset|add|remove|give)\b|\bplease\b",
    re.IGNORECASE,
)


def by_wording(text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """Narrow "question or request" by wording: "how do I ..." asks; "please ...", "can you ..." request."""
    if set(allowed) != {Q, R}:
        return allowed
    if _ASKS_INFO.search(text):
        return (Q,)
    if _ASKS_ACTION.search(text):
        return (R,)
    return allowed
