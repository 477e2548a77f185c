"""Feature flags: which users get the new flows during the rollout (wallet, checkout, payouts,
legacy migration), set by admins, evaluated per user, cached in the process."""

from app.domain.flags import Evaluation, FeatureDisabled, Flag, FlagRule
from app.services.flags.service import FeatureFlags, FlagState

__all__ = ["Evaluation", "FeatureDisabled", "FeatureFlags", "Flag", "FlagRule", "FlagState"]
