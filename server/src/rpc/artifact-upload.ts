// Receiving an artifact stream: the header first, then chunks up to exactly the declared size, checked against the
// declared SHA-256. Memory is bounded by the declared size, which is bounded by SIGHTLINE_MAX_ARTIFACT_BYTES.
import { createHash } from "node:crypto";
import { checkResourceNames } from "../catalog/names.js";
import { invalidArgument, throwIfInvalid, type Violation } from "../errors.js";
import { ErrorReason } from "../gen/sightline/v1/errors_pb.js";
import { ArtifactFormat, type ArtifactHeader, type UploadModelArtifactRequest } from "../gen/sightline/v1/model_service_pb.js";

export interface ReceivedArtifact {
  header: ArtifactHeader;
  bytes: Uint8Array;
}

function artifactInvalid(field: string, description: string) {
  return invalidArgument([{ field, description }], undefined, ErrorReason.ARTIFACT_INVALID);
}

export function checkHeader(header: ArtifactHeader, maxBytes: number): Violation[] {
  const violations = checkResourceNames({ "header.project": header.project, "header.collection": header.collection, "header.model": header.model });
  if (header.format !== ArtifactFormat.ONNX) {
    violations.push({ field: "header.format", description: "must be ONNX: no other format is accepted, so an upload can never run code on the server" });
  }
  if (header.sizeBytes <= 0n || header.sizeBytes > BigInt(maxBytes)) {
    violations.push({ field: "header.size_bytes", description: `must be within [1, ${maxBytes}] (SIGHTLINE_MAX_ARTIFACT_BYTES)` });
  }
  if (!/^[0-9a-f]{64}$/.test(header.sha256)) violations.push({ field: "header.sha256", description: "must be 64 lowercase hexadecimal digits" });
  return violations;
}

/** Reads the header; the caller authorizes it before `receiveBytes` reads the rest. */
export async function receiveHeader(requests: AsyncIterator<UploadModelArtifactRequest>, maxBytes: number): Promise<ArtifactHeader> {
  const first = await requests.next();
  if (first.done === true || first.value.part.case !== "header") throw artifactInvalid("header", "the first message must carry the header");
  const header = first.value.part.value;
  throwIfInvalid(checkHeader(header, maxBytes));
  return header;
}

export async function receiveBytes(requests: AsyncIterator<UploadModelArtifactRequest>, header: ArtifactHeader): Promise<Uint8Array> {
  const size = Number(header.sizeBytes);
  const bytes = new Uint8Array(size);
  const hash = createHash("sha256");
  let received = 0;
  for (let next = await requests.next(); next.done !== true; next = await requests.next()) {
    const part = next.value.part;
    if (part.case !== "chunk") throw artifactInvalid("header", "only the first message may carry a header");
    if (received + part.value.length > size) throw artifactInvalid("chunk", `the chunks carry more than the declared ${size} bytes`);
    bytes.set(part.value, received);
    hash.update(part.value);
    received += part.value.length;
  }
  if (received < size) throw artifactInvalid("chunk", `the upload is truncated: ${received} of the declared ${size} bytes arrived`);
  const digest = hash.digest("hex");
  if (digest !== header.sha256) throw artifactInvalid("header.sha256", `does not match the bytes received (their SHA-256 is ${digest})`);
  return bytes;
}
