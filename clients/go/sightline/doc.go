// Package sightline is the Go client of Sightline, the ingestion service for ML model monitoring.
//
// Dial gives a Client holding one connection and an API key. Its Admin, Catalog and Ingest fields are the raw
// gRPC stubs, for every RPC of the contracts; the helpers cover what the stubs make tedious:
//
//   - Batch builds columnar RecordBatches from Go slices, with nulls;
//   - Client.Upload and Client.Put write batches, Client.ReadRecords iterates them back;
//   - Client.NewStreamWriter gives a StreamWriter for real-time services, which keeps a bounded window of batches
//     in flight and re-sends the unacknowledged ones after a reconnect.
//
// Every failure the server or the transport reports, from the stubs and the helpers alike, is an *Error carrying
// the gRPC code and the server's ErrorInfo reason; status.Code(err) works on it too.
package sightline
