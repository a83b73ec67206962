"""The floor for bench/intake.py: a bare aiohttp endpoint doing one Tortoise transaction per message on the
same database as Plaint (one transcript row written, one read), nothing else."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

from aiohttp import web
from tortoise.transactions import in_transaction

from storage.database import open_database
from storage.models import ChannelIdentity, Customer, TranscriptMessage


def build_floor_app(database_url: str) -> web.Application:
    app = web.Application()
    identities: dict[str, int] = {}

    async def message(request: web.Request) -> web.Response:
        body = await request.json()
        session = str(body["session"])
        async with in_transaction():
            identity_id = identities.get(session)
            if identity_id is None:
                customer = await Customer.create()
                identity = await ChannelIdentity.create(customer=customer, channel="web", sender_id=session)
                identity_id = identities[session] = identity.id
            await TranscriptMessage.create(
                identity_id=identity_id, direction="in", author="customer", text=str(body.get("text", ""))
            )
            count = await TranscriptMessage.filter(identity_id=identity_id).count()
        return web.json_response({"replies": [{"text": f"ok {count}", "buttons": []}]})

    async def database(app: web.Application) -> AsyncIterator[None]:
        async with open_database(database_url):
            yield

    app.router.add_post("/chat/api/message", message)
    app.cleanup_ctx.append(database)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    web.run_app(build_floor_app(arguments.database_url), host="127.0.0.1", port=arguments.port, print=None)
