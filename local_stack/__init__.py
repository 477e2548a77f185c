"""The local default: embedded SecantusDB, the Stripe emulator and the service, for development."""
