"""Evidence: texts and files in GridFS, read back by those allowed to see the dispute; a file too
large or of another type is refused before anything is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.auth import Role
from app.db import Collections
from tests.checkout_support import SELLER_A, SELLER_B, Marketplace
from tests.routers.disputes.support import ADMIN, open_dispute, paid_order

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


async def gridfs_files(market: Marketplace) -> int:
    return await market.database[f"{Collections.DISPUTE_EVIDENCE_FILES}.files"].count_documents({})


async def gridfs_chunks(market: Marketplace) -> int:
    return await market.database[f"{Collections.DISPUTE_EVIDENCE_FILES}.chunks"].count_documents({})


async def opened(market: Marketplace) -> str:
    order = await paid_order(market, "buyer-e", [("prod_tea", 1)], key="e-1")
    dispute = await open_dispute(market, "buyer-e", order["order_id"], SELLER_B, key="e-d")
    dispute_id: str = dispute.json()["dispute_id"]
    return dispute_id


async def test_the_buyer_the_seller_and_admins_add_evidence_and_read_it_back(market: Marketplace) -> None:
    dispute_id = await opened(market)
    text = await market.client.post(
        f"/dispute/{dispute_id}/evidence",
        json={"text": "The parcel never came"},
        headers=market.headers("buyer-e"),
    )
    assert (text.status_code, text.json()["author_role"]) == (201, "buyer"), text.text
    uploaded = await market.client.post(
        f"/dispute/{dispute_id}/evidence?filename=receipt.pdf",
        content=PDF,
        headers={**market.headers(SELLER_B, Role.SELLER), "Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 201, uploaded.text
    file = uploaded.json()
    assert (file["author_role"], file["size"], file["content_type"]) == (
        "seller",
        len(PDF),
        "application/pdf",
    )
    note = await market.client.post(
        f"/dispute/{dispute_id}/evidence",
        json={"text": "Asked the carrier"},
        headers=market.headers(ADMIN, Role.ADMIN),
    )
    assert note.json()["author_role"] == "admin"

    detail = await market.client.get(f"/dispute/{dispute_id}", headers=market.headers("buyer-e"))
    assert [(e["author_role"], e["text"], e["filename"]) for e in detail.json()["evidence"]] == [
        ("buyer", "The parcel never came", None),
        ("seller", None, "receipt.pdf"),
        ("admin", "Asked the carrier", None),
    ]
    for reader in (market.headers("buyer-e"), market.headers(ADMIN, Role.SUPPORT)):
        download = await market.client.get(
            f"/dispute/{dispute_id}/evidence/{file['file_id']}", headers=reader
        )
        assert (download.status_code, download.content) == (200, PDF)
        assert download.headers["content-type"] == "application/pdf"
    for stranger in (market.headers("buyer-x"), market.headers(SELLER_A, Role.SELLER)):
        hidden = await market.client.get(
            f"/dispute/{dispute_id}/evidence/{file['file_id']}", headers=stranger
        )
        assert hidden.status_code == 404
        refused = await market.client.post(
            f"/dispute/{dispute_id}/evidence", json={"text": "me too"}, headers=stranger
        )
        assert refused.status_code == 404
    support = await market.client.post(
        f"/dispute/{dispute_id}/evidence", json={"text": "x"}, headers=market.headers(ADMIN, Role.SUPPORT)
    )
    assert support.status_code == 403


async def test_a_file_too_large_or_of_another_type_is_refused_and_nothing_is_stored(
    market: Marketplace,
) -> None:
    dispute_id = await opened(market)
    limit = market.settings.evidence_max_bytes
    headers = {**market.headers("buyer-e"), "Content-Type": "application/pdf"}

    declared = await market.client.post(
        f"/dispute/{dispute_id}/evidence?filename=big.pdf", content=b"x" * (limit + 1), headers=headers
    )
    assert (declared.status_code, declared.json()["code"], declared.json()["limit"]) == (
        413,
        "evidence_too_large",
        limit,
    )

    async def streamed() -> AsyncIterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b"y" * 65536

    chunked = await market.client.post(
        f"/dispute/{dispute_id}/evidence?filename=big.pdf", content=streamed(), headers=headers
    )
    assert chunked.status_code == 413, chunked.text
    forbidden = await market.client.post(
        f"/dispute/{dispute_id}/evidence?filename=run.sh",
        content=b"#!/bin/sh\n",
        headers={**market.headers("buyer-e"), "Content-Type": "application/x-sh"},
    )
    assert (forbidden.status_code, forbidden.json()["code"]) == (415, "evidence_type_not_allowed")
    bad_text = await market.client.post(
        f"/dispute/{dispute_id}/evidence", json={"text": "", "extra": 1}, headers=market.headers("buyer-e")
    )
    assert bad_text.status_code == 422
    assert (await gridfs_files(market), await gridfs_chunks(market)) == (0, 0)
    assert await market.database[Collections.DISPUTE_EVIDENCE].count_documents({}) == 0
