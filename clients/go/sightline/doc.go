// Package sightline is the Go client of Sightline, the ingestion service for ML model monitoring.
//
// Dial gives a Client holding one connection and an API key. Its Admin, Catalog, Ingest, MonitoringService and
// ModelService fields are the raw gRPC stubs, for every RPC of the contracts; the helpers cover what the stubs make tedious:
//
//   - Batch builds columnar RecordBatches from Go slices, with nulls;
//   - Client.Upload and Client.Put write batches, Client.ReadRecords iterates them back;
//   - Client.NewStreamWriter gives a StreamWriter for real-time services, which keeps a bounded window of batches
//     in flight and re-sends the unacknowledged ones after a reconnect;
//   - Client.RefreshMonitoring, Client.WatchJob and Client.WaitForJob run a model's monitoring now and follow the
//     job; Client.Monitoring reads its series (performance, drift, data quality per hour or day, and per split) as
//     Go structs;
//   - Client.UploadModelArtifact and Client.UploadModelArtifactFile upload a DATA_AND_MODEL model's ONNX artifact in
//     chunks, Client.GetModelArtifact describes it, and Client.ComputePredictions and Client.ComputeInfluences have
//     the workers compute predictions and influences from it (a job, followed with WaitForJob, whose final status
//     carries a ComputeResult).
//
// A model's monitoring, with the project given once to Dial:
//
//	client, err := sightline.Dial(ctx, addr, sightline.WithAPIKey(key), sightline.WithProject("acme"))
//	...
//	jobID, err := client.RefreshMonitoring(ctx, "credit", "default-risk")
//	if err != nil { return err }
//	if _, err := client.WaitForJob(ctx, jobID); err != nil { return err } // a FAILED job is ErrJobFailed
//	m, err := client.Monitoring(ctx, "credit", "default-risk", sightline.MonitoringQuery{
//		Start: time.Now().Truncate(24*time.Hour).AddDate(0, 0, -7), Granularity: sightline.Day, Metrics: []string{"roc_auc"},
//	})
//	if err != nil { return err }
//	for _, b := range m.Buckets {
//		if auc := b.Performance["roc_auc"]; auc.Defined {
//			fmt.Printf("%s  roc_auc %.3f\n", b.Start.Format(time.DateOnly), auc.Value)
//		} else {
//			fmt.Printf("%s  roc_auc undefined: %s\n", b.Start.Format(time.DateOnly), auc.UndefinedReason)
//		}
//	}
//
// Every failure the server or the transport reports, from the stubs and the helpers alike, is an *Error carrying
// the gRPC code and the server's ErrorInfo reason; status.Code(err) works on it too.
package sightline
