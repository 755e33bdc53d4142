"""The real-time writer: drives the bidirectional Stream with a bounded window of batches awaiting their acks, reads
acks on a background thread, and after a disconnect re-sends every batch without an ack on a new stream. Upserts
by record ID make the re-send exact."""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import grpc
import pandas as pd

from sightline.v1 import ingest_service_pb2, records_pb2, resources_pb2

from .batches import DEFAULT_INFLUENCE_PREFIX, Routing, record_batches, route_columns
from .errors import FieldViolation, InvalidArgumentError, SightlineError, from_rpc_error
from .summary import WriteSummary

# The writer never cancels its own streams, so CANCELLED comes from the server side (a shutdown resets open calls).
# DEADLINE_EXCEEDED too: the writer sets no deadline of its own, so it is the server ending a stream left idle past
# SIGHTLINE_STREAM_IDLE_TIMEOUT_MS, having acked everything it received.
_retryable = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}
_end = object()


@dataclass
class _Pending:
    sequence: int
    batch: records_pb2.RecordBatch
    future: Future[ingest_service_pb2.StreamResponse]


class StreamWriter:
    """Writes batches as they come and returns at once; `flush()` and `close()` wait for every ack.

    `write()` blocks only while `max_in_flight` batches await their acks. Each write's Future resolves with its ack
    (after the server made it durable), or fails with InvalidArgumentError when the server refused that batch whole.
    `summary` totals every ack so far; `reconnects` counts the streams reopened after one ended early: a failure, a
    server shutting down, or a stream the server ended for idleness (reopened by the next write).
    """

    def __init__(
        self,
        open_stream: Callable[[Iterator[ingest_service_pb2.StreamRequest]], Iterable[ingest_service_pb2.StreamResponse]],
        target: records_pb2.Target,
        schema: resources_pb2.Schema,
        model: resources_pb2.Model | None,
        *,
        max_in_flight: int = 64,
        max_reconnects: int = 20,
    ) -> None:
        self._open = open_stream
        self._target = target
        self._schema = schema
        self._model = model
        self._max_in_flight = max_in_flight
        self._max_reconnects = max_reconnects
        # Routing is decided once per column set and options, since a service writes the same shape every time.
        self._routes: dict[tuple[tuple[str, ...], str | None, str | None, str], Routing] = {}
        self._cond = threading.Condition()
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._sequence = 0
        self._outbox: queue.Queue[object] | None = None
        self._closing = False
        self._failure: SightlineError | None = None
        self.summary = WriteSummary()
        self.refused: list[InvalidArgumentError] = []
        self.reconnects = 0
        self._thread = threading.Thread(target=self._run, name="sightline-stream", daemon=True)
        self._thread.start()

    # -- writing --------------------------------------------------------------------------------------------------

    def write(
        self,
        data: pd.DataFrame | Mapping[str, Any],
        *,
        id_column: str | None = None,
        timestamp_column: str | None = None,
        influence_prefix: str = DEFAULT_INFLUENCE_PREFIX,
    ) -> list[Future[ingest_service_pb2.StreamResponse]]:
        """Sends a DataFrame, or a mapping of column to values (scalars make one row), as one or more batches."""
        if isinstance(data, Mapping):
            single = all(not isinstance(v, (list, tuple, pd.Series)) and not hasattr(v, "__array__") for v in data.values())
            data = pd.DataFrame({k: [v] for k, v in data.items()} if single else dict(data))
        columns = tuple(str(c) for c in data.columns)
        key = (columns, id_column, timestamp_column, influence_prefix)
        routing = self._routes.get(key)
        if routing is None:
            routing = route_columns(
                columns, self._schema, self._model, production=self._target.HasField("production"),
                id_column=id_column, timestamp_column=timestamp_column, influence_prefix=influence_prefix,
            )
            self._routes[key] = routing
        return [self.write_batch(batch) for batch in record_batches(data, routing, 5000)]

    def write_batch(self, batch: records_pb2.RecordBatch) -> Future[ingest_service_pb2.StreamResponse]:
        """Sends one ready-made wire batch."""
        future: Future[ingest_service_pb2.StreamResponse] = Future()
        with self._cond:
            while self._failure is None and not self._closing and len(self._pending) >= self._max_in_flight:
                self._cond.wait()
            self._raise_if_failed()
            if self._closing:
                raise RuntimeError("the stream writer is closed")
            self._sequence += 1
            pending = _Pending(self._sequence, batch, future)
            self._pending[pending.sequence] = pending
            if self._outbox is not None:
                self._outbox.put(_message(pending))
            self._cond.notify_all()
        return future

    def flush(self, timeout: float | None = None) -> WriteSummary:
        """Waits until every batch written so far has its ack; returns the running summary."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending and self._failure is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"{len(self._pending)} batches still await their acks")
                self._cond.wait(left)
            self._raise_if_failed()
            return self.summary

    def close(self, timeout: float | None = None) -> WriteSummary:
        """Flushes, ends the stream and stops the reader; returns the summary of every ack."""
        try:
            self.flush(timeout)
        finally:
            with self._cond:
                self._closing = True
                if self._outbox is not None:
                    self._outbox.put(_end)
                self._cond.notify_all()
            self._thread.join(timeout)
        return self.summary

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise self._failure

    # -- the background stream ----------------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while True:
            outbox: queue.Queue[object] = queue.Queue()
            with self._cond:
                if self._closing and not self._pending:
                    return
                # Swapped under the lock, so every batch goes out once on this stream: re-sends first, in order,
                # then the writes made from now on.
                self._outbox = outbox
                outbox.put(ingest_service_pb2.StreamRequest(header=self._target))
                for pending in self._pending.values():
                    outbox.put(_message(pending))
            try:
                for ack in self._open(_drain(outbox)):
                    failures = 0
                    self._on_ack(ack)
                with self._cond:
                    if self._closing and not self._pending:
                        return
                error: SightlineError | None = None
            except grpc.RpcError as err:
                error = from_rpc_error(err)
            finally:
                outbox.put(_end)
            if error is None or error.code in _retryable:
                with self._cond:
                    if not self._pending:
                        # Nothing to re-send: typically the server ended a stream left idle past its timeout. Reopening
                        # it at once would only time out again, each time counting against max_reconnects; the next
                        # write reopens it instead.
                        while not self._pending and not self._closing:
                            self._cond.wait()
                        failures = 0
                        if self._pending:
                            self.reconnects += 1
                        continue
            failures += 1
            if error is not None and (error.code not in _retryable or failures > self._max_reconnects):
                self._fail(error)
                return
            if failures > self._max_reconnects:
                self._fail(SightlineError("the server kept ending the stream early"))
                return
            time.sleep(min(0.05 * 2**failures, 2.0))
            with self._cond:
                self.reconnects += 1

    def _on_ack(self, ack: ingest_service_pb2.StreamResponse) -> None:
        with self._cond:
            pending = self._pending.pop(ack.sequence, None)
            if pending is None:
                return
            self.summary.merge(ack.summary, batch_offset=0)
            if ack.HasField("error"):
                refused = InvalidArgumentError(
                    ack.error.message,
                    code=grpc.StatusCode.INVALID_ARGUMENT,
                    violations=[FieldViolation(v.field, v.description) for v in ack.error.violations],
                )
                self.refused.append(refused)
                pending.future.set_exception(refused)
            else:
                pending.future.set_result(ack)
            self._cond.notify_all()

    def _fail(self, error: SightlineError) -> None:
        with self._cond:
            self._failure = error
            for pending in self._pending.values():
                pending.future.set_exception(error)
            self._pending.clear()
            self._cond.notify_all()


def _message(pending: _Pending) -> ingest_service_pb2.StreamRequest:
    return ingest_service_pb2.StreamRequest(batch=ingest_service_pb2.SequencedBatch(sequence=pending.sequence, batch=pending.batch))


def _drain(outbox: queue.Queue[object]) -> Iterator[ingest_service_pb2.StreamRequest]:
    while True:
        item = outbox.get()
        if item is _end:
            return
        assert isinstance(item, ingest_service_pb2.StreamRequest)
        yield item
