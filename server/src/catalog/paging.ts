// Page tokens are opaque to clients: base64url JSON holding the scope of the listing and the last key served,
// so a token cannot be replayed against another listing.
import type { Violation } from "../errors.js";

export const defaultPageSize = 50;
export const maxPageSize = 1000;

export interface PageRequest {
  /** Names the listing, so a token from one listing is refused by another. */
  scope: string;
  pageSize: number;
  after: string | undefined;
}

interface TokenBody {
  s: string;
  a: string;
}

export function encodePageToken(scope: string, lastKey: string): string {
  const body: TokenBody = { s: scope, a: lastKey };
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

function decodePageToken(scope: string, token: string): string | undefined {
  try {
    const body = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Partial<TokenBody>;
    // No key the service stores holds a NUL, and a query holding one fails in FerretDB: such a token is forged.
    if (body.s === scope && typeof body.a === "string" && !body.a.includes("\u0000")) return body.a;
  } catch {
    // fall through: any undecodable token is invalid
  }
  return undefined;
}

export function parsePageRequest(
  scope: string,
  pageSize: number,
  pageToken: string,
): { page: PageRequest; violations: Violation[] } {
  const violations: Violation[] = [];
  let size = pageSize === 0 ? defaultPageSize : pageSize;
  if (pageSize < 0 || pageSize > maxPageSize) {
    violations.push({ field: "page_size", description: `must be between 0 and ${maxPageSize}` });
    size = defaultPageSize;
  }
  let after: string | undefined;
  if (pageToken !== "") {
    after = decodePageToken(scope, pageToken);
    if (after === undefined) violations.push({ field: "page_token", description: "is not a token from this listing" });
  }
  return { page: { scope, pageSize: size, after }, violations };
}
