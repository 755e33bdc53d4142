// Naming rules for everything a user names. Resource names become parts of document IDs and queue keys,
// so they are restricted; field names are the user's own column names and may hold any printable text.
import type { Violation } from "../errors.js";

export const maxResourceNameLength = 63;
export const maxFieldNameBytes = 256;
const resourceNamePattern = /^[a-z][a-z0-9_-]*$/;
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f]/;

export function checkResourceName(field: string, name: string): Violation[] {
  if (name.length === 0) return [{ field, description: "is required" }];
  if (name.length > maxResourceNameLength) {
    return [{ field, description: `must be at most ${maxResourceNameLength} characters, got ${name.length}` }];
  }
  if (!resourceNamePattern.test(name)) {
    return [{ field, description: "must start with a lowercase letter and hold only a-z, 0-9, '-' and '_'" }];
  }
  return [];
}

export function checkFieldName(field: string, name: string): Violation[] {
  if (name.length === 0) return [{ field, description: "is required" }];
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > maxFieldNameBytes) {
    return [{ field, description: `must be at most ${maxFieldNameBytes} bytes of UTF-8, got ${bytes}` }];
  }
  if (controlCharacters.test(name)) return [{ field, description: "must not contain control characters" }];
  return [];
}

/**
 * Free text the service stores or looks up as given (display names, categories, class labels, API key IDs).
 * The one character refused is NUL: FerretDB keeps documents in PostgreSQL, whose text cannot hold it, so storing it,
 * or a query holding it, failed with INTERNAL.
 */
export function checkStoredText(field: string, text: string): Violation[] {
  return text.includes("\u0000") ? [{ field, description: "must not contain NUL characters" }] : [];
}

/** Checks several (field, name) pairs at once, as request handlers need. */
export function checkResourceNames(pairs: Record<string, string>): Violation[] {
  return Object.entries(pairs).flatMap(([field, name]) => checkResourceName(field, name));
}
