"""Demo documents (`manage.py seed_demo`): a price list and a contract draft, linked to demo records."""

from __future__ import annotations

import io

from crm_apps.engine.sample_data import SampleContext
from crm_apps.modules.documents.services import Upload, document_create


def documents_sample(ctx: SampleContext) -> None:
    organizations = ctx.records.get("organizations", [])
    for title, name, text in [
        ("Price list 2027", "price-list-2027.txt", "Standard licence: 40 EUR per seat and month.\n"),
        ("Contract draft", "contract-draft.txt", "Master services agreement (draft).\n"),
    ]:
        body = text.encode()
        links = [("organizations", organizations[0].pk)] if organizations else []
        ctx.records.setdefault("documents", []).append(
            document_create(
                actor=ctx.rng.choice(ctx.owners),
                data={"title": title},
                upload=Upload(stream=io.BytesIO(body), name=name, size=len(body)),
                links=links,
            )
        )
