"""What the emulated Stripe does: the state changes behind each endpoint and control."""
