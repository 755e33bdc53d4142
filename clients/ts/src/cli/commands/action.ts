// Glue between commander and the command bodies: positional arguments first, then the command's options merged with
// the global ones (--project, --json).
import type { Command } from "commander";
import { CliError } from "../failure.js";
import type { GlobalOptions } from "../session.js";

type Handler = (...args: unknown[]) => Promise<void>;

/** Every positional argument of the commands here is a single string. */
export function act<O extends GlobalOptions = GlobalOptions>(fn: (options: O) => Promise<void>): Handler;
export function act<O extends GlobalOptions = GlobalOptions>(fn: (arg: string, options: O) => Promise<void>): Handler;
export function act(fn: (...args: never[]) => Promise<void>): Handler {
  return async (...args) => {
    // Commander calls an action with the positionals, the command's own options, then the command.
    const command = args[args.length - 1] as Command;
    const call = fn as (...a: unknown[]) => Promise<void>;
    await call(...args.slice(0, -2), command.optsWithGlobals());
  };
}

export function requireYes(options: { yes?: boolean }, what: string): void {
  if (options.yes !== true) throw new CliError(`deleting ${what} deletes its data too; pass --yes to confirm`);
}
