"""API versions: the emulator renders the version the installed SDK pins, and refuses others.

Stripe refuses a `Stripe-Version` it does not know with 400 "Invalid Stripe API version: ..."
(as its answer to `2019-2-19` or to the non-existent `2025-09-30.acacia` shows). A real version
other than the SDK's is refused too, with a message saying so: the emulator builds objects in
one version's shape only.
"""

from __future__ import annotations

import stripe

API_VERSION: str = stripe.api_version

# Versions Stripe released since SDKs pin one, as listed in stripe-python's CHANGELOG.
RELEASED_VERSIONS = frozenset(
    {
        "2023-08-16",
        "2023-10-16",
        "2024-04-10",
        "2024-06-20",
        "2024-09-30.acacia",
        "2024-10-28.acacia",
        "2024-11-20.acacia",
        "2024-12-18.acacia",
        "2025-01-27.acacia",
        "2025-02-24.acacia",
        "2025-03-31.basil",
        "2025-04-30.basil",
        "2025-05-28.basil",
        "2025-06-30.basil",
        "2025-07-30.basil",
        "2025-08-27.basil",
        "2025-09-30.clover",
        "2025-10-29.clover",
        "2025-11-17.clover",
        "2025-12-15.clover",
        "2026-01-28.clover",
        "2026-02-25.clover",
        "2026-03-25.dahlia",
        "2026-04-22.dahlia",
        "2026-05-27.dahlia",
        "2026-06-24.dahlia",
        API_VERSION,
    }
)
