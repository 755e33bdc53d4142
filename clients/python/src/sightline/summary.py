"""What a write reports back, as plain Python values."""

from __future__ import annotations

from dataclasses import dataclass, field

from sightline.v1 import records_pb2


@dataclass(frozen=True)
class RowError:
    """One rejected row: which batch and row, its record ID, the field at fault and why."""

    batch: int
    row: int
    record_id: str
    field: str
    reason: str
    description: str


@dataclass(frozen=True)
class KindCount:
    accepted: int
    rejected: int


@dataclass
class WriteSummary:
    rows_received: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    batches: int = 0
    #: Accepted and rejected rows per data kind, keyed by "features", "labels", "extra", "predictions", "influences".
    kinds: dict[str, KindCount] = field(default_factory=dict)
    #: The first row errors the server listed (it counts all of them in rows_rejected).
    row_errors: list[RowError] = field(default_factory=list)

    @classmethod
    def from_proto(cls, message: records_pb2.WriteSummary, batch_offset: int = 0) -> WriteSummary:
        summary = cls()
        summary.merge(message, batch_offset)
        return summary

    def merge(self, message: records_pb2.WriteSummary, batch_offset: int = 0) -> None:
        """Adds another summary's counts, numbering its batches after `batch_offset`."""
        self.rows_received += message.rows_received
        self.rows_accepted += message.rows_accepted
        self.rows_rejected += message.rows_rejected
        self.batches += message.batches
        for kind in message.kinds:
            name = kind_name(kind.kind)
            before = self.kinds.get(name, KindCount(0, 0))
            self.kinds[name] = KindCount(before.accepted + kind.accepted, before.rejected + kind.rejected)
        self.row_errors.extend(
            RowError(
                batch=e.batch + batch_offset,
                row=e.row,
                record_id=e.record_id,
                field=e.field,
                reason=records_pb2.RowErrorReason.Name(e.reason).removeprefix("ROW_ERROR_REASON_"),
                description=e.description,
            )
            for e in message.row_errors
        )


def kind_name(kind: int) -> str:
    return records_pb2.DataKind.Name(kind).removeprefix("DATA_KIND_").lower()


def kind_value(name: str) -> records_pb2.DataKind:
    return records_pb2.DataKind.Value(f"DATA_KIND_{name.upper()}")  # type: ignore[return-value]
