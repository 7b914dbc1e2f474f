"""Linked identities: one member's accounts on several platforms joined at their own
request (``/link`` in direct messages on both, both sides confirming), sharing their
language and agreement to the code of conduct, and their cases if they choose;
``/unlink`` at once. Private by default: nobody else is told, unless the member
``/share``s their accounts with the moderators of one of their cases."""

from bot.engine.turn import Action, Feature
from bot.features.identity import codes, commands, confirm, disclose, shared

FEATURE = Feature(
    "identity",
    commands=(*commands.COMMANDS, *disclose.COMMANDS),
    actions={
        "identity_claimer_agrees": Action(confirm.claimer_agrees, results=("gone",)),
        "identity_claimer_declines": Action(confirm.claimer_declines),
        "identity_issuer_agrees": Action(confirm.issuer_agrees, results=("gone", "taken")),
        "identity_issuer_declines": Action(confirm.issuer_declines),
        "identity_has_links": Action(commands.has_links, results=("linked",)),
        "identity_forget_linked": Action(commands.forget_linked),
        "identity_share_prepare": Action(disclose.prepare_share, results=("gone",)),
        "identity_share": Action(disclose.share, results=("gone",)),
    },
    choice_sources={"identity_share_cases": disclose.share_choices},
    timer_kinds={
        "identity:ask": confirm.on_ask,
        "identity:linked": confirm.on_linked,
        "identity:declined": confirm.on_declined,
        "identity:unlinked": commands.on_unlinked,
        "identity:forget": commands.on_forget_signal,
        shared.SYNC: shared.on_sync,
    },
    after_turn=(codes.guard_public, shared.after_turn),
)
