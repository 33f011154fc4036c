"""What the conformance suite does not reach: text PostgreSQL cannot hold, and the store's caches."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import psycopg
from hypothesis import given
from hypothesis import strategies as st

from agentkit.messages import AssistantMessage, Usage, UserMessage
from agentkit.stores import SessionInfo
from agentkit_postgres import PostgresStore
from agentkit_postgres._text import decode, encode
from agentkit_postgres.testing import PostgresServer


@given(st.text(alphabet=st.characters(codec=None, categories=None)))
def test_text_escaping_is_reversible_and_keeps_text_apart(text: str) -> None:
    stored = encode(text)
    assert "\x00" not in stored
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in stored)
    assert decode(stored) == text
    assert encode(text + "x") != stored


def test_plain_text_is_stored_as_it_is() -> None:
    for text in ("chat-42", "ünïcødé 🙂", "a\\b'c\"d"):
        assert encode(text) is text


async def test_titles_models_and_metadata_holding_nul_and_lone_surrogates(dsn: str, schema: str) -> None:
    store = PostgresStore(dsn, schema=schema)
    odd = "nul \x00, escape \x01, surrogate \ud800"
    info = SessionInfo(
        "odd",
        odd,
        datetime(2020, 1, 1, tzinfo=UTC),
        datetime(2020, 1, 2, tzinfo=UTC),
        title=odd,
        model=odd,
        usage=Usage(1, 2, cost=0.5),
        metadata={odd: [odd, {"k": odd}]},
    )
    try:
        await store.put_session(info, [UserMessage(odd)])
        again = PostgresStore(dsn, schema=schema)
        try:
            assert await again.get_session("odd") == attrs.evolve(info, message_count=1)
            assert [s.id for s in await again.list_sessions(user_id=odd)] == ["odd"]
            assert await again.read_messages("odd") == [UserMessage(odd)]
        finally:
            await again.aclose()
    finally:
        await store.aclose()


async def test_cached_reads_and_appends_notice_every_change_by_another_store(dsn: str, schema: str) -> None:
    mine, theirs = PostgresStore(dsn, schema=schema), PostgresStore(dsn, schema=schema)
    turn = [UserMessage("q"), AssistantMessage("a")]
    try:
        await mine.create_session("c")
        await mine.append_turn("c", turn)
        assert await mine.read_messages("c") == turn  # decoded, remembered
        # deleted and made again, with as many messages: different rows, same length
        await theirs.delete_session("c")
        await theirs.create_session("c", title="second")
        other = [UserMessage("other q"), AssistantMessage("other a")]
        await theirs.append_turn("c", other)
        assert await mine.read_messages("c") == other
        # mine appends as it last saw the session; theirs wrote since: nothing is lost
        await theirs.append_turn("c", turn, usage=Usage(1, 1, requests=1))
        info = await mine.append_turn("c", turn, usage=Usage(2, 2, requests=1))
        assert info.message_count == 6 and info.usage == Usage(3, 3, requests=2) and info.title == "second"
        assert await theirs.read_messages("c") == other + turn + turn
        # the same store's own appends go on from what it wrote
        for _ in range(3):
            await mine.append_turn("c", turn)
        assert (await theirs.get_session("c")).message_count == 12
        assert await mine.read_messages("c") == other + turn * 5
    finally:
        await mine.aclose()
        await theirs.aclose()


async def test_a_store_that_lost_a_race_appends_under_the_lock_until_it_writes_alone_again(
    dsn: str, schema: str
) -> None:
    # A conditional append that fails has queued on the row lock for nothing: after one,
    # the store takes the lock at once (two round trips instead of three), and goes back to
    # the one-statement append once no other writer came between two of its own.
    mine, theirs = PostgresStore(dsn, schema=schema), PostgresStore(dsn, schema=schema)
    turn = [UserMessage("q"), AssistantMessage("a")]
    try:
        await mine.create_session("race")
        await mine.append_turn("race", turn)
        assert "race" not in mine._contended
        await theirs.append_turn("race", turn)
        await mine.append_turn("race", turn)  # its guess lost: appended under the lock
        assert "race" in mine._contended
        await theirs.append_turn("race", turn)
        await mine.append_turn("race", turn)  # another writer came between: still contended
        assert "race" in mine._contended
        await mine.append_turn("race", turn)  # under the lock, and alone since its last write
        assert "race" not in mine._contended
        info = await mine.append_turn("race", turn)  # one statement again
        assert info.message_count == 14
        assert await theirs.read_messages("race") == turn * 7
        assert (await theirs.get_session("race")).message_count == 14
    finally:
        await mine.aclose()
        await theirs.aclose()


async def test_search_is_full_text_search_over_the_gin_index(pg_server: PostgresServer, schema: str) -> None:
    # The store's own search statement, planned by the server: with sequential scans priced
    # out, a plan can only avoid them through an index that matches the query's expression.
    store = PostgresStore(pg_server.dsn(), schema=schema)
    try:
        for n in range(5):
            await store.open_session(f"s{n}")
        for n in range(50):
            turn = [UserMessage(f"ticket {n} about invoices"), AssistantMessage(f"answer {n}")]
            await store.append_turn(f"s{n % 5}", turn)
        hits = await store.search("invoices ticket")
        assert len(hits) == 20 and {h.role for h in hits} == {"user"}
        sql = store._sql.search_head + " ORDER BY s.updated_at DESC, s.id, m.seq DESC LIMIT 20"
    finally:
        await store.aclose()
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + sql, ("'invoices' & 'ticket'",)))
    assert "messages_terms" in plan, plan
