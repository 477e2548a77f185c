"""Time passing at Stripe: advancing the emulator clock does what Stripe would have done
meanwhile, in Stripe's order: charges get their balance transactions, pending refunds finish,
funds reach their `available_on` date, and requirement deadlines pass."""

from __future__ import annotations

from stripe_emulator import errors
from stripe_emulator.emulator import Emulator
from stripe_emulator.operations import accounts, refunds, settlement


def advance(emu: Emulator, seconds: int) -> int:
    """Move the clock `seconds` forward (0 finishes the work in flight); returns how many
    balance transactions became available."""
    if seconds < 0:
        raise errors.invalid_request("The clock only moves forward.", param="seconds")
    # Work due within the interval happens before the clock reaches its end, so a charge's
    # balance transaction is recorded pending and then becomes available like any other.
    until = emu.clock.time() + seconds
    settlement.post_due_balance_transactions(emu, until)
    refunds.finish_due(emu, until)
    emu.clock.advance(seconds)
    released = settlement.release_due_funds(emu)
    accounts.rederive_all(emu)
    return released
