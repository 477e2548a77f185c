"""A seeded simulation of the marketplace: buyers, sellers, admins, Stripe and its faults driven
at random (from one seed) through the real service against SecantusDB and the emulator, with the
books' invariants checked as it goes. `python -m sim --seed S --ops N`; see README.md."""
