"""The buyer's wallet: legacy and platform balances, spending and refunds, top-ups."""
