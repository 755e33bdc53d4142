// Model artifacts: the bytes in GridFS (bucket "artifacts"), and one small document per (model, version) that makes
// a version exist. The bytes are written first and the version document last, so a version is never visible without
// its bytes; an upload that fails between the two leaves an unreferenced GridFS file, which is deleted on the spot.
import { once } from "node:events";
import { GridFSBucket, ObjectId } from "mongodb";
import { isDuplicateKey } from "../errors.js";
import { prefixPattern } from "../ingest/layout.js";
import { docId, type Store } from "./db.js";

export interface ArtifactDoc {
  /** `<model document ID>|v<version>`. */
  _id: string;
  /** The model's document ID. */
  m: string;
  version: number;
  format: number;
  sizeBytes: number;
  sha256: string;
  fileId: ObjectId;
  uploadTime: Date;
  inputs: string[];
  outputs: string[];
  influenceAlgorithm: number;
  producer: string;
}

export type ArtifactFacts = Omit<ArtifactDoc, "_id" | "m" | "version" | "fileId" | "uploadTime">;

const bucketName = "artifacts";

function bucketOf(store: Store): GridFSBucket {
  return new GridFSBucket(store.db, { bucketName });
}

function artifactId(modelKey: string, version: number): string {
  return `${modelKey}|v${version}`;
}

async function latestVersion(store: Store, modelKey: string): Promise<number> {
  const latest = await store.artifacts.find({ m: modelKey }, { projection: { version: 1 } }).sort({ version: -1 }).limit(1).next();
  return latest?.version ?? 0;
}

/** Stores the bytes and then the next version's document; concurrent uploads of one model each get their own version. */
export async function saveArtifact(store: Store, project: string, collection: string, model: string, bytes: Uint8Array, facts: ArtifactFacts): Promise<ArtifactDoc> {
  const modelKey = docId(project, collection, model);
  const bucket = bucketOf(store);
  const upload = bucket.openUploadStream(`${modelKey}.onnx`, { metadata: { m: modelKey, sha256: facts.sha256 } });
  upload.end(bytes);
  await once(upload, "finish");
  try {
    for (;;) {
      const version = (await latestVersion(store, modelKey)) + 1;
      const doc: ArtifactDoc = { _id: artifactId(modelKey, version), m: modelKey, version, fileId: upload.id, uploadTime: new Date(), ...facts };
      try {
        await store.artifacts.insertOne(doc);
        return doc;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
  } catch (err) {
    await bucket.delete(upload.id).catch(() => undefined);
    throw err;
  }
}

/** One version's document, or the latest when `version` is 0; null when there is none. */
export async function findArtifact(store: Store, modelKey: string, version: number): Promise<ArtifactDoc | null> {
  const wanted = version > 0 ? version : await latestVersion(store, modelKey);
  if (wanted === 0) return null;
  return store.artifacts.findOne({ _id: artifactId(modelKey, wanted) });
}

/** The artifact's bytes: whole, since onnxruntime loads a model from one buffer. */
export async function readArtifactBytes(store: Store, doc: ArtifactDoc): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const part of bucketOf(store).openDownloadStream(doc.fileId)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Drops every artifact of one model, of every model of a collection, or of a whole project. */
export async function deleteArtifacts(store: Store, project: string, collection?: string, model?: string): Promise<void> {
  const filter = model !== undefined && collection !== undefined
    ? { m: docId(project, collection, model) }
    : { m: prefixPattern(collection === undefined ? `${project}/` : `${docId(project, collection)}/`) };
  const docs = await store.artifacts.find(filter, { projection: { fileId: 1 } }).toArray();
  const bucket = bucketOf(store);
  for (const doc of docs) {
    await store.artifacts.deleteOne({ _id: doc._id });
    await bucket.delete(doc.fileId).catch(() => undefined);
  }
}
