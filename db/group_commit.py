"""Group commit: what requests submit while a batch is being written goes into the next batch,
one unit of work for all of it. (The same batching serves reads that many requests make alike,
in a read-only session: the lead intake's admission.)

A lone request is written at once, as alone as before; under load the work of many requests
shares one transaction, one thread hop and one statement per table. On SQLite, where writers
queue for the one write lock anyway, this turns a queue of transactions into a few batches.
A request is answered only once its batch has committed, so an answer still means "stored".

When a batch fails as a whole (a database error, not an outcome it returns for one item), its
items are written again one by one, each in a unit of work of its own: one bad item fails
alone, and each request learns what became of its own item.

A batch runs in the context (request id, trace) of its first item's request: its SQL is traced
there, since one statement stores all of them."""

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from core.logging import describe_exception
from db.session import run_unit_of_work

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("clinic.db")

# Enough to absorb every request a busy process has in flight; a batch stays one short
# transaction (a lead is a few rows).
MAX_BATCH = 64


class GroupCommit(Generic[T, R]):
    """Writes submitted items with `work(session, items)`, which returns one result per item
    in order, in as few units of work as the load allows. One per process and purpose; its
    items are written on the event loop's side by one task at a time. `unit` runs one batch's
    work in its session (`run_unit_of_work`, or `run_read_only` for reads)."""

    def __init__(
        self,
        engine: Engine,
        work: Callable[[Session, Sequence[T]], list[R]],
        *,
        max_batch: int = MAX_BATCH,
        unit: Callable[[Engine, Callable[[Session], list[R]]], Coroutine[Any, Any, list[R]]] = (
            run_unit_of_work
        ),
    ) -> None:
        self._engine = engine
        self._work = work
        self._run = unit
        self._max_batch = max_batch
        self._queue: list[_Entry[T, R]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """`item`'s result once its batch has committed (or what writing it raised). A caller
        cancelled meanwhile does not take its item back: it is written all the same."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        # Read even when its caller has gone: an unread exception would be logged, message
        # and all.
        done.add_done_callback(_read)
        self._queue.append(_Entry(item, done, contextvars.copy_context()))
        if self._writer is None or self._writer.done():
            # Not the first submitter's context: the writer serves every request that comes
            # while it runs (each batch runs in its own first item's).
            self._writer = loop.create_task(self._write_all(), context=contextvars.Context())
        return await asyncio.shield(done)

    async def _write_all(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                await self._write(batch)
            except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
                for entry in batch + self._queue:
                    _fail(entry.done, exc)
                self._queue.clear()
                raise

    async def _write(self, batch: "list[_Entry[T, R]]") -> None:
        try:
            results = await self._unit(batch)
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0].done, exc)
                return
            log.warning(
                "group commit failed; writing its items one by one",
                extra={"items": len(batch), "error": describe_exception(exc)},
            )
            for entry in batch:
                try:
                    (result,) = await self._unit([entry])
                except Exception as alone:
                    _fail(entry.done, alone)
                else:
                    _succeed(entry.done, result)
            return
        for entry, result in zip(batch, results, strict=True):
            _succeed(entry.done, result)

    async def _unit(self, batch: "list[_Entry[T, R]]") -> list[R]:
        items = [entry.item for entry in batch]
        unit = self._run(self._engine, lambda session: self._work(session, items))
        return await asyncio.get_running_loop().create_task(unit, context=batch[0].context)


@dataclass(frozen=True)
class _Entry(Generic[T, R]):
    """A submitted item, the future its caller waits on, and its caller's context."""

    item: T
    done: "asyncio.Future[R]"
    context: contextvars.Context


def _read(done: "asyncio.Future[Any]") -> None:
    if not done.cancelled():
        done.exception()


# A caller cancelled meanwhile left its future behind (the shield): nobody reads it.
def _succeed(done: "asyncio.Future[R]", result: R) -> None:
    if not done.done():
        done.set_result(result)


def _fail(done: "asyncio.Future[R]", exc: BaseException) -> None:
    if done.done():
        return
    if isinstance(exc, asyncio.CancelledError):  # a future is cancelled, not failed with it
        done.cancel()
    else:
        done.set_exception(exc)
