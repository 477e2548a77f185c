"""The audit log: every audited change, recorded in its own transaction, chained by the sealer.

Any package records through this module (`AuditLog.record`, with the caller's session and a
typed `Actor`); like `app.services.jobs` it is shared, the webhooks package included.
"""

from app.services.audit.log import AuditLog, AuditOutsideTransaction
from app.services.audit.repository import INDEXES, AuditFilter, AuditPage, AuditRecord
from app.services.audit.sealer import SEALER_JOB, AuditSealer
from app.services.audit.verify import AuditVerifier, ChainReport

__all__ = [
    "INDEXES",
    "SEALER_JOB",
    "AuditFilter",
    "AuditLog",
    "AuditOutsideTransaction",
    "AuditPage",
    "AuditRecord",
    "AuditSealer",
    "AuditVerifier",
    "ChainReport",
]
