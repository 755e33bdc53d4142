// One status line on stderr. On a terminal it is redrawn in place (carriage return, erase line) at most every
// `intervalMs`; in "lines" mode it becomes a plain line every `intervalMs`, for logs; "off" prints nothing.
export type LiveMode = "bar" | "lines" | "off";

interface TtyLike {
  isTTY?: boolean;
  write(text: string): unknown;
}

export function liveModeFor(stream: TtyLike, flag: boolean | undefined): LiveMode {
  if (flag === false) return "off";
  if (stream.isTTY === true) return "bar";
  // Piped output stays clean unless progress is asked for.
  return flag === true ? "lines" : "off";
}

export class LiveLine {
  private last = 0;
  private drawn = false;
  private lastText = "";

  constructor(
    private readonly stream: TtyLike,
    readonly mode: LiveMode,
    private readonly intervalMs = mode === "lines" ? 10_000 : 100,
  ) {}

  /** Shows `text` if the interval has passed (or `force`). */
  update(text: string, force = false): void {
    if (this.mode === "off") return;
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    this.lastText = text;
    if (this.mode === "lines") {
      this.stream.write(`${text}\n`);
      return;
    }
    this.stream.write(`\r\u001b[K${text}`);
    this.drawn = true;
  }

  /** Leaves `text` as the final state, on its own line. */
  finish(text: string): void {
    if (this.mode === "off") return;
    // A log that already ends with this state needs it only once.
    if (this.mode === "lines") {
      if (text !== this.lastText) this.stream.write(`${text}\n`);
    } else this.stream.write(`\r\u001b[K${text}\n`);
    this.drawn = false;
  }

  /** Removes a half-drawn line before other output (an error) is written. */
  clear(): void {
    if (this.mode === "bar" && this.drawn) this.stream.write("\r\u001b[K");
    this.drawn = false;
  }
}
