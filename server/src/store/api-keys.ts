// API keys: the secret is shown once and stored only as a SHA-256 hash. Secrets are 256 random bits, so a fast
// hash is enough: there is nothing to brute-force that a slow hash would protect.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { PageRequest } from "../catalog/paging.js";
import { notFound } from "../errors.js";
import { ApiKeySchema, type ApiKey } from "../gen/sightline/v1/resources_pb.js";
import { listPage, type ApiKeyDoc, type Page, type Store } from "./db.js";

const keyPrefix = "slk";

export function hashSecret(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

function toApiKey(doc: ApiKeyDoc): ApiKey {
  return create(ApiKeySchema, {
    id: doc._id,
    project: doc.project,
    displayName: doc.displayName,
    createTime: timestampFromDate(doc.createTime),
    revokeTime: doc.revokeTime === null ? undefined : timestampFromDate(doc.revokeTime),
  });
}

export async function createApiKey(store: Store, project: string, displayName: string): Promise<{ apiKey: ApiKey; secret: string }> {
  const id = `${keyPrefix}_${randomBytes(9).toString("base64url")}`;
  const secret = `${id}.${randomBytes(32).toString("base64url")}`;
  const doc: ApiKeyDoc = {
    _id: id,
    project,
    displayName,
    secretHash: hashSecret(secret).toString("hex"),
    createTime: new Date(),
    revokeTime: null,
  };
  await store.apiKeys.insertOne(doc);
  return { apiKey: toApiKey(doc), secret };
}

export async function listApiKeys(store: Store, project: string, page: PageRequest): Promise<Page<ApiKey>> {
  return listPage(store.apiKeys, { project }, page, toApiKey);
}

export async function revokeApiKey(store: Store, project: string, id: string): Promise<ApiKey> {
  const doc = await store.apiKeys.findOneAndUpdate(
    { _id: id, project },
    { $set: { revokeTime: new Date() } },
    { returnDocument: "after" },
  );
  if (doc === null) throw notFound("api key", id);
  return toApiKey(doc);
}

export type KeyLookup =
  | { status: "valid"; project: string }
  | { status: "revoked" }
  | { status: "unknown" };

/** Resolves a presented secret to its project, comparing hashes in constant time. */
export async function lookupApiKey(store: Store, secret: string): Promise<KeyLookup> {
  const dot = secret.indexOf(".");
  if (!secret.startsWith(`${keyPrefix}_`) || dot < 0) return { status: "unknown" };
  const doc = await store.apiKeys.findOne({ _id: secret.slice(0, dot) });
  if (doc === null) return { status: "unknown" };
  const stored = Buffer.from(doc.secretHash, "hex");
  const presented = hashSecret(secret);
  if (stored.length !== presented.length || !timingSafeEqual(stored, presented)) return { status: "unknown" };
  return doc.revokeTime === null ? { status: "valid", project: doc.project } : { status: "revoked" };
}
