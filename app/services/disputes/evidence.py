"""Evidence of a dispute: texts, and files stored in MongoDB GridFS (never on local disk).

A file's type is checked before anything is read, its declared length before anything is
stored, and its bytes are streamed into GridFS with a running count: past `EVIDENCE_MAX_BYTES`
the upload is aborted (its chunks deleted) and `evidence_too_large` raised, so a refused file
leaves nothing behind. Its record (who added what, when) is written once the file is whole,
with its audit record, in one transaction. Files are streamed back chunk by chunk.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document
from app.domain.audit import Actor, AuditObject
from app.domain.disputes import EvidenceTooLarge, EvidenceTypeNotAllowed
from app.errors import NotFound
from app.services.audit import AuditLog
from app.services.disputes.repository import Dispute, DisputeRepository, Evidence, as_evidence

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class EvidenceLimits:
    max_bytes: int
    content_types: frozenset[str]


@dataclass(frozen=True, slots=True)
class EvidenceDownload:
    evidence: Evidence
    chunks: AsyncIterator[bytes]


class EvidenceStore:
    def __init__(
        self, database: Database, audit: AuditLog, limits: EvidenceLimits, clock: Clock = utc_now
    ) -> None:
        self._db = database
        self._audit = audit
        self._limits = limits
        self._clock = clock
        self._disputes = DisputeRepository(database)
        self._bucket = AsyncGridFSBucket(database.db, bucket_name=Collections.DISPUTE_EVIDENCE_FILES)

    async def of(self, dispute: Dispute) -> list[Evidence]:
        return await self._disputes.evidence_of(dispute.id)

    async def add_text(self, dispute: Dispute, text: str, author: Actor, role: str) -> Evidence:
        return await self._record(dispute, author, role, {"text": text})

    def check_file(self, content_type: str | None, declared_length: int | None) -> str:
        """Refuse a file of another type, or declared larger than allowed, before reading it;
        its media type (without parameters)."""
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type not in self._limits.content_types:
            raise EvidenceTypeNotAllowed(
                f"{media_type or 'no type'} is not one of {', '.join(sorted(self._limits.content_types))}"
            )
        if declared_length is not None and declared_length > self._limits.max_bytes:
            raise EvidenceTooLarge(
                f"a file has at most {self._limits.max_bytes} bytes", limit=self._limits.max_bytes
            )
        return media_type

    async def add_file(
        self,
        dispute: Dispute,
        filename: str,
        media_type: str,
        chunks: AsyncIterator[bytes],
        author: Actor,
        role: str,
    ) -> Evidence:
        """Stream the file into GridFS, at most `max_bytes` (beyond: aborted, nothing kept)."""
        file_id = f"evf_{uuid.uuid4().hex}"
        upload = self._bucket.open_upload_stream_with_id(
            file_id, filename, metadata={"dispute_id": dispute.id, "content_type": media_type}
        )
        size = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > self._limits.max_bytes:
                    raise EvidenceTooLarge(
                        f"a file has at most {self._limits.max_bytes} bytes", limit=self._limits.max_bytes
                    )
                await upload.write(chunk)
        except BaseException:
            await upload.abort()
            raise
        await upload.close()
        fields = {"file_id": file_id, "filename": filename, "content_type": media_type, "size": size}
        try:
            return await self._record(dispute, author, role, fields)
        except BaseException:
            await self._bucket.delete(file_id)
            raise

    async def download(self, dispute: Dispute, file_id: str) -> EvidenceDownload:
        evidence = await self._disputes.evidence_file(dispute.id, file_id)
        if evidence is None:
            raise NotFound(f"no evidence file {file_id} in dispute {dispute.id}")
        try:
            stream = await self._bucket.open_download_stream(file_id)
        except NoFile as error:
            raise NotFound(f"no evidence file {file_id}") from error

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await stream.readchunk():
                yield chunk
            await stream.close()

        return EvidenceDownload(evidence, chunks())

    async def _record(self, dispute: Dispute, author: Actor, role: str, fields: Document) -> Evidence:
        document: Document = {
            "_id": f"evd_{uuid.uuid4().hex}",
            "dispute_id": dispute.id,
            "author_id": author.id,
            "author_role": role,
            "created_at": self._clock(),
            **fields,
        }

        async def record_in(session: AsyncClientSession) -> None:
            await self._disputes.add_evidence(session, document)
            after = {key: value for key, value in fields.items() if key != "text"}
            await self._audit.record(
                session,
                author,
                "dispute.evidence_added",
                AuditObject("dispute", dispute.id),
                before=None,
                after={"evidence_id": document["_id"], **after},
            )

        await self._db.transaction(record_in)
        log.info("dispute_evidence_added", dispute_id=dispute.id, evidence_id=document["_id"])
        return as_evidence(document)
