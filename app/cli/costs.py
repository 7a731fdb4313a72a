"""How the command line shows a batch's cost, its pause and its Batch API lane."""

from __future__ import annotations


def usd(amount: float | None) -> str:
    """$1.23, or all the digits a small amount needs ($0.000412); "unknown" for None."""
    if amount is None:
        return "unknown"
    if amount == 0 or abs(amount) >= 1:
        return f"${amount:,.2f}"
    digits = 6 if round(amount, 6) else 12  # "$0.0000001", not "$0"
    return f"${amount:.{digits}f}".rstrip("0").rstrip(".")


def cost_line(status: dict) -> str:
    """The batch's cost so far, its tokens, the estimate of what is left and its cap."""
    line = (f"cost {usd(status.get('cost_usd'))} · {status.get('prompt_tokens', 0):,} prompt + "
            f"{status.get('completion_tokens', 0):,} completion tokens")
    if status.get("cost_remaining_usd") is not None:
        line += f" · about {usd(status['cost_remaining_usd'])} left"
    if status.get("max_cost_usd") is not None:
        line += f" · cap {usd(status['max_cost_usd'])}"
    return line


def batch_notes(status: dict) -> list[str]:
    """Lines under the batch's table: why it is paused, unknown prices, the lane."""
    notes = []
    if status.get("status") == "paused":
        when = f" (resumes at {status['resume_at']})" if status.get("resume_at") else ""
        notes.append(f"[yellow]paused: {status.get('paused_reason')}{when}[/]. After raising "
                     f"the cap: trustagency resume {status['task_id']} [--max-cost USD]")
    if status.get("cost_note"):
        notes.append(status["cost_note"])
    if status.get("note"):
        notes.append(status["note"])
    for batch in status.get("provider_batches") or []:
        notes.append(f"provider batch {batch['id']}: {batch['status']}, {batch['completed']} of "
                     f"{batch['total']} answered, {batch['failed']} failed")
    return notes
