// Small helpers for catalog output: every page of a List call, and protobuf timestamps as text.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { formatTime } from "./output.js";

/** Follows next_page_token to the end; the catalog lists are small enough to show whole. */
export async function listAll<T>(page: (token: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const all: T[] = [];
  let token = "";
  do {
    const { items, next } = await page(token);
    all.push(...items);
    token = next;
  } while (token !== "");
  return all;
}

export function timeText(ts: Timestamp | undefined): string {
  return ts === undefined ? "" : formatTime(timestampDate(ts));
}
