"""Two workers take turns of one customer at the same moment (two `plaint serve` processes behind one address, a
customer who sends twice quickly): the second turn waits for the first one's lock and must then see what the first
one stored, or it would advance the flow from the old state and overwrite the first turn's answer."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from flows import ConversationState
from storage.database import open_database, supports_row_locks
from storage.intake import TortoiseIntakeStore

SENDER = "web-two-workers"
ASKED_NAME = ConversationState(flow_id="complaint", flow_version=1, step_id="name", lang="en")


async def test_a_turn_that_waited_for_anothers_lock_sees_the_state_that_turn_stored(database_url: str) -> None:
    async with open_database(database_url):
        store = TortoiseIntakeStore(lock_rows=supports_row_locks(database_url))
        async with store.transaction("web", SENDER, "m0", "en") as tx:
            conversation_id = await tx.save_conversation(None, ASKED_NAME)
        # Both workers read the conversation before either takes its turn.
        seen = (await store.look_up("web", SENDER, "m2")).conversation
        assert seen is not None and seen.id == conversation_id

        first_inside = asyncio.Event()
        second_asking = asyncio.Event()

        async def first_turn() -> None:
            async with store.transaction("web", SENDER, "m1", "en", identity_exists=True) as tx:
                assert not tx.moved_since(seen)
                await tx.save_conversation(conversation_id, replace(ASKED_NAME, step_id="contact"))
                first_inside.set()
                await second_asking.wait()
                # The second turn's locked read is on its way and waits for this transaction.
                await asyncio.sleep(0.3)

        async def second_turn() -> bool:
            await first_inside.wait()
            second_asking.set()
            async with store.transaction("web", SENDER, "m2", "en", identity_exists=True) as tx:
                return tx.moved_since(seen)

        _, moved = await asyncio.gather(first_turn(), second_turn())
        # The second turn sees the first one's state (its caller then prepares the turn again against it).
        assert moved
        after = (await store.look_up("web", SENDER, "m3")).conversation
        assert after is not None and after.state.step_id == "contact"
