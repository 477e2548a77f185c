"""Shared infrastructure for work outside requests: periodic jobs and the leases that keep one
runner per job. Any domain may use it through this module."""

from app.services.jobs.periodic import PeriodicJob, periodic_jobs, runner_id
from app.services.jobs.repository import Lease

__all__ = ["Lease", "PeriodicJob", "periodic_jobs", "runner_id"]
