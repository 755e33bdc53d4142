// The upload's progress line: rows so far, the rate, how far through the file, and the time left at that rate.
import { LiveLine, liveModeFor } from "../live-line.js";
import { formatCount, formatDuration, styleFor, type Style } from "../output.js";

export interface UploadProgress {
  rows: number;
  elapsedMs: number;
  /** 0 to 1: bytes read of a CSV, rows read of a Parquet file. */
  fraction: number;
}

const barWidth = 24;

export function rowsPerSecond(rows: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : (rows * 1000) / elapsedMs;
}

export function etaSeconds({ elapsedMs, fraction }: UploadProgress): number {
  if (fraction <= 0) return Number.NaN;
  return ((elapsedMs / 1000) * (1 - fraction)) / fraction;
}

/** Fits an 80-column terminal with a label of up to 20 characters: a wrapped line cannot be redrawn in place. */
export function progressText(p: UploadProgress, style: Style, label: string): string {
  const fraction = Math.min(1, Math.max(0, p.fraction));
  const filled = Math.round(fraction * barWidth);
  const bar = style.green("█".repeat(filled)) + style.dim("░".repeat(barWidth - filled));
  const rate = Math.round(rowsPerSecond(p.rows, p.elapsedMs));
  return `${label} ${bar} ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatCount(p.rows)} rows  ${formatCount(rate)} rows/s  ETA ${formatDuration(etaSeconds(p))}`;
}

export function plainProgressText(p: UploadProgress, label: string): string {
  const rate = Math.round(rowsPerSecond(p.rows, p.elapsedMs));
  return `${label}: ${Math.floor(Math.min(1, p.fraction) * 100)}% ${p.rows} rows ${rate} rows/s ETA ${formatDuration(etaSeconds(p))}`;
}

/** The upload's live line on stderr: a bar on a terminal, plain lines with --progress, nothing otherwise. */
export class UploadProgressLine {
  private readonly live: LiveLine;
  private readonly style = styleFor(process.stderr);
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly fraction: () => number,
    flag: boolean | undefined,
  ) {
    this.live = new LiveLine(process.stderr, liveModeFor(process.stderr, flag));
  }

  elapsedMs(): number {
    return Date.now() - this.started;
  }

  private text(p: UploadProgress): string {
    return this.live.mode === "bar" ? progressText(p, this.style, this.label) : plainProgressText(p, this.label);
  }

  update(rows: number): void {
    this.live.update(this.text({ rows, elapsedMs: this.elapsedMs(), fraction: this.fraction() }));
  }

  finish(rows: number): void {
    this.live.finish(this.text({ rows, elapsedMs: this.elapsedMs(), fraction: 1 }));
  }

  clear(): void {
    this.live.clear();
  }
}
