"""The `stripe_accounts` collection: each connected account as last read from Stripe, the seller
it belongs to, and the seller's standing derived from it.

One document per Stripe account (`_id`); `seller_id` comes from the account's metadata, which
onboarding sets when it creates the account, and is unique: one account per seller. Reads of
the account are ordered by read tickets (`app.services.webhooks.reserve_read`), never by events.
`status` and `can_receive_transfers` are stored (and indexed) for the lists and for whoever
must act on a seller's ability to receive money: the escrow jobs query `can_receive_transfers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document
from app.domain.onboarding import (
    AccountSnapshot,
    Requirements,
    SellerStatus,
    Verification,
    assess,
    seller_list_key,
)
from app.errors import UnknownCursor
from app.services.webhooks import (
    reserve_read,
    stored_read_fields,
    stored_ticket,
    unless_later_read_stored,
)

LIST_KEY = "list_key"
CAN_RECEIVE_TRANSFERS = "can_receive_transfers"
# A list key starts with the account's creation year, so every one is at least "0": a range
# the index serves, which leaves out accounts not read yet (no list key). (`$gt: ""` would say
# it too, but SecantusDB 0.7 finds nothing through an index for that bound.)
_LOWEST_KEY = "0"

INDEXES: dict[str, list[IndexModel]] = {
    Collections.STRIPE_ACCOUNTS: [
        IndexModel([("seller_id", ASCENDING)], unique=True, sparse=True),
        # The admin list: newest account first, alone or by status.
        IndexModel([(LIST_KEY, DESCENDING)]),
        IndexModel([("status", ASCENDING), (LIST_KEY, DESCENDING)]),
        # Sellers able to receive transfers, for the jobs catching up on missed changes.
        IndexModel([(CAN_RECEIVE_TRANSFERS, ASCENDING), ("seller_id", ASCENDING)]),
    ],
}


@dataclass(frozen=True, slots=True)
class RequirementCounts:
    currently_due: int
    past_due: int
    eventually_due: int
    pending_verification: int


@dataclass(frozen=True, slots=True)
class StripeAccount:
    """A connected account as last read from Stripe, with the seller's standing derived from it."""

    id: str
    seller_id: str | None
    snapshot: AccountSnapshot | None  # None until a read of the account is stored
    status: SellerStatus | None  # None until the account is read or deauthorized
    status_reason: str | None
    can_receive_transfers: bool
    # Every requirement Stripe ever listed for the account: what progress is a share of.
    requirements_seen: frozenset[str]
    deauthorized: bool
    deauthorized_at: datetime | None
    created_at: datetime | None  # when Stripe created the account
    updated_at: datetime | None
    last_event_id: str | None
    last_event_created: datetime | None
    read_ticket: int | None  # the ticket of the stored read

    @property
    def account_id(self) -> str:
        return self.id

    @property
    def requirement_counts(self) -> RequirementCounts:
        requirements = (self.snapshot or AccountSnapshot()).requirements
        return RequirementCounts(
            currently_due=len(requirements.currently_due),
            past_due=len(requirements.past_due),
            eventually_due=len(requirements.eventually_due),
            pending_verification=len(requirements.pending_verification),
        )

    def verification(self) -> Verification:
        return assess(
            self.snapshot or AccountSnapshot(),
            deauthorized=self.deauthorized,
            requirements_seen=self.requirements_seen,
        )


@dataclass(frozen=True, slots=True)
class AccountRead:
    """What one read of the account from Stripe found."""

    snapshot: AccountSnapshot
    seller_id: str | None  # the seller the account's metadata names
    created_at: datetime | None  # when Stripe created the account
    event_id: str | None = None  # the event that asked for the read, if one did
    event_created: datetime | None = None


@dataclass(frozen=True, slots=True)
class Derived:
    """What the service derived from a read: the seller's standing, and every requirement seen."""

    verification: Verification
    requirements_seen: frozenset[str]


@dataclass(frozen=True, slots=True)
class SellerPage:
    data: list[StripeAccount]
    has_more: bool


@dataclass(frozen=True, slots=True)
class SellerFilter:
    status: SellerStatus | None = None
    seller_or_account: str | None = None  # a seller id or a Stripe account id


class SellerAlreadyLinked(Exception):
    """Another Stripe account already names this seller."""


class StripeAccountRepository:
    def __init__(self, database: Database) -> None:
        self._accounts = database[Collections.STRIPE_ACCOUNTS]

    async def get(self, account_id: str, session: AsyncClientSession | None = None) -> StripeAccount | None:
        document = await self._accounts.find_one({"_id": account_id}, session=session)
        return _account(document) if document else None

    async def of_seller(self, seller_id: str) -> StripeAccount | None:
        document = await self._accounts.find_one({"seller_id": seller_id})
        return _account(document) if document else None

    async def reserve_read(self, account_id: str) -> int:
        """A ticket for a read of the account from Stripe that is about to start."""
        return await reserve_read(self._accounts, account_id)

    async def store_read(
        self,
        session: AsyncClientSession,
        account_id: str,
        read: AccountRead,
        derived: Derived,
        ticket: int,
        *,
        new: bool,
    ) -> bool:
        """Store what a read under `ticket` found, unless a later read is stored; whether stored.
        `new`: no document exists for the account yet. Raises SellerAlreadyLinked."""
        fields = stored_read_fields(_read_fields(account_id, read, derived), ticket)
        try:
            result = await self._accounts.update_one(
                unless_later_read_stored(account_id, ticket), {"$set": fields}, upsert=new, session=session
            )
        except DuplicateKeyError as exc:
            if "seller_id" not in ((exc.details or {}).get("keyPattern") or {}):
                raise
            raise SellerAlreadyLinked(account_id) from exc
        return result.modified_count == 1 or result.upserted_id is not None

    async def deauthorize(
        self, session: AsyncClientSession, account_id: str, at: datetime, verification: Verification
    ) -> None:
        """Mark the account unusable; the latest deauthorization time wins."""
        await self._accounts.update_one(
            {"_id": account_id},
            {
                "$set": {"deauthorized": True, **_standing_fields(verification)},
                "$max": {"deauthorized_at": at},
            },
            upsert=True,
            session=session,
        )

    async def page(self, where: SellerFilter, limit: int, starting_after: str | None) -> SellerPage:
        """Accounts, newest first, after the account `starting_after`."""
        before = await self._list_key_of(starting_after) if starting_after is not None else None
        if where.seller_or_account is not None:
            documents = await self._named(where.seller_or_account, where.status, before)
        else:
            query: Document = {LIST_KEY: {"$lt": before} if before else {"$gte": _LOWEST_KEY}}
            if where.status is not None:
                query["status"] = str(where.status)
            documents = await self._accounts.find(query).sort(LIST_KEY, DESCENDING).limit(limit + 1).to_list()
        return SellerPage(data=[_account(d) for d in documents[:limit]], has_more=len(documents) > limit)

    async def _list_key_of(self, account_id: str) -> str:
        anchor = await self._accounts.find_one({"_id": account_id}, {LIST_KEY: True})
        if anchor is None or LIST_KEY not in anchor:
            raise UnknownCursor(f"starting_after: no seller account {account_id}")
        return str(anchor[LIST_KEY])

    async def _named(self, name: str, status: SellerStatus | None, before: str | None) -> list[Document]:
        """The accounts (at most two) whose seller id or account id is `name`, each found through
        its own index, then filtered and ordered here."""
        found = {
            document["_id"]: document
            for field in ("seller_id", "_id")
            async for document in self._accounts.find({field: name})
        }
        listed = [
            document
            for document in found.values()
            if LIST_KEY in document
            and (status is None or document.get("status") == status)
            and (before is None or document[LIST_KEY] < before)
        ]
        return sorted(listed, key=lambda document: str(document[LIST_KEY]), reverse=True)

    async def transfer_destination(self, seller_id: str) -> str | None:
        document = await self._accounts.find_one(
            {"seller_id": seller_id, CAN_RECEIVE_TRANSFERS: True}, {"_id": True}
        )
        return str(document["_id"]) if document else None

    async def sellers_with_accounts(self, after: str | None, limit: int) -> list[tuple[str, str]]:
        """(seller id, account id) of every seller whose account Stripe still lets the platform
        read, by seller id, after `after` (the seller index serves it)."""
        query: Document = {"seller_id": {"$gt": after or ""}, "deauthorized": {"$ne": True}}
        cursor = self._accounts.find(query, {"seller_id": True}).sort("seller_id", ASCENDING).limit(limit)
        return [(document["seller_id"], document["_id"]) async for document in cursor]

    async def sellers_receiving_transfers(self, after: str | None, limit: int) -> list[tuple[str, str]]:
        """(seller id, account id) of sellers who can receive transfers, by seller id, after `after`."""
        query: Document = {CAN_RECEIVE_TRANSFERS: True, "seller_id": {"$gt": after or ""}}
        cursor = self._accounts.find(query, {"seller_id": True}).sort("seller_id", ASCENDING).limit(limit)
        return [(document["seller_id"], document["_id"]) async for document in cursor]


def _standing_fields(verification: Verification) -> Document:
    return {
        "status": str(verification.status),
        "status_reason": verification.status_reason,
        CAN_RECEIVE_TRANSFERS: verification.can_receive_transfers,
    }


def _read_fields(account_id: str, read: AccountRead, derived: Derived) -> Document:
    snapshot = read.snapshot
    fields: Document = {
        "charges_enabled": snapshot.charges_enabled,
        "payouts_enabled": snapshot.payouts_enabled,
        "details_submitted": snapshot.details_submitted,
        "capabilities": dict(snapshot.capabilities),
        "disabled_reason": snapshot.disabled_reason,
        "requirements": _requirements_fields(snapshot.requirements),
        "future_requirements": _requirements_fields(snapshot.future_requirements),
        "requirements_seen": sorted(derived.requirements_seen),
        **_standing_fields(derived.verification),
    }
    if read.seller_id:
        fields["seller_id"] = read.seller_id
    if read.created_at is not None:
        fields["created_at"] = read.created_at
        fields[LIST_KEY] = seller_list_key(read.created_at, account_id)
    if read.event_id is not None:
        fields["last_event_id"] = read.event_id
        fields["last_event_created"] = read.event_created
    return fields


def _requirements_fields(requirements: Requirements) -> Document:
    return {
        "currently_due": list(requirements.currently_due),
        "eventually_due": list(requirements.eventually_due),
        "past_due": list(requirements.past_due),
        "pending_verification": list(requirements.pending_verification),
        "current_deadline": requirements.current_deadline,
    }


def _requirements(document: Document | None) -> Requirements:
    document = document or {}
    return Requirements(
        currently_due=tuple(document.get("currently_due", ())),
        eventually_due=tuple(document.get("eventually_due", ())),
        past_due=tuple(document.get("past_due", ())),
        pending_verification=tuple(document.get("pending_verification", ())),
        current_deadline=document.get("current_deadline"),
    )


def _snapshot(document: Document) -> AccountSnapshot | None:
    if stored_ticket(document) is None:
        return None
    return AccountSnapshot(
        charges_enabled=document.get("charges_enabled", False),
        payouts_enabled=document.get("payouts_enabled", False),
        details_submitted=document.get("details_submitted", False),
        capabilities=document.get("capabilities", {}),
        disabled_reason=document.get("disabled_reason"),
        requirements=_requirements(document.get("requirements")),
        future_requirements=_requirements(document.get("future_requirements")),
    )


def _account(document: Document) -> StripeAccount:
    status = document.get("status")
    return StripeAccount(
        id=document["_id"],
        seller_id=document.get("seller_id"),
        snapshot=_snapshot(document),
        status=SellerStatus(status) if status else None,
        status_reason=document.get("status_reason"),
        can_receive_transfers=document.get(CAN_RECEIVE_TRANSFERS, False),
        requirements_seen=frozenset(document.get("requirements_seen", ())),
        deauthorized=document.get("deauthorized", False),
        deauthorized_at=document.get("deauthorized_at"),
        created_at=document.get("created_at"),
        updated_at=document.get("updated_at"),
        last_event_id=document.get("last_event_id"),
        last_event_created=document.get("last_event_created"),
        read_ticket=stored_ticket(document),
    )
