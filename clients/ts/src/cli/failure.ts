// Turns whatever went wrong into one readable message and an exit code, so every command fails the same way.
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";

/** A failure the CLI itself detected (bad flags, unreadable files); the message is meant for the user as is. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The message for a failed command: the status and the server's field violations for RPC errors. */
export function describeFailure(err: unknown): string {
  if (err instanceof CliError) return err.message;
  if (err instanceof ConnectError) {
    const lines = [`${Code[err.code] ?? err.code}: ${err.rawMessage}`];
    for (const detail of err.findDetails(BadRequestSchema)) {
      for (const v of detail.fieldViolations) {
        const text = `${v.field}: ${v.description}`;
        // The server often repeats a single violation as the message itself.
        if (!err.rawMessage.includes(text)) lines.push(`  ${text}`);
      }
    }
    const reason = err.findDetails(ErrorInfoSchema)[0]?.reason;
    const codeName = (Code[err.code] ?? "").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
    if (reason !== undefined && reason !== "" && reason !== codeName) lines.push(`  reason: ${reason}`);
    if (err.code === Code.Unauthenticated) lines.push("  check the key: `sightline login --url URL --key KEY`, or SIGHTLINE_API_KEY");
    // Without a reason the server never answered; with one, it answered that something behind it is down.
    if (err.code === Code.Unavailable && reason === undefined) lines.push("  is the server running at that URL? (`sightline login`, or SIGHTLINE_URL)");
    return lines.join("\n");
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
