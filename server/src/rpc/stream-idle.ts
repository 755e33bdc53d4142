// The idle rule of Upload, Stream and UploadModelArtifact: a call that has the server waiting for its next message, with nothing of its
// own in flight, for SIGHTLINE_STREAM_IDLE_TIMEOUT_MS ends with DEADLINE_EXCEEDED. One timer per call, armed lazily:
// a wait only notes when it began, and the timer, when it fires, re-arms itself for whatever is left of the newest wait.
import { Code, ConnectError } from "@connectrpc/connect";

export const idleVariable = "SIGHTLINE_STREAM_IDLE_TIMEOUT_MS";

export class IdleTimeout extends ConnectError {
  constructor(
    readonly timeoutMs: number,
    outcome: string,
  ) {
    super(`the client sent nothing for ${timeoutMs} ms (${idleVariable}); ${outcome}`, Code.DeadlineExceeded);
  }
}

export class IdleWatch {
  /** When the current wait began; undefined while the server is not waiting on the client. */
  private since: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /**
   * Fails the wait in progress; set exactly while one is. (Not a race against one long-lived promise, which would
   * keep a reaction per message for the life of the call.)
   */
  private failWait: ((err: unknown) => void) | undefined;
  private closed = false;

  constructor(
    private readonly timeoutMs: number,
    /** What the client should know of its call when it ends: what was written. */
    private readonly outcome: () => string,
  ) {}

  /**
   * The next message, or IdleTimeout once the clock reaches the timeout. The clock starts now when `timed`, else
   * when `timeWait` is called during the wait (a Stream's batches still in flight hold it until they are acked).
   */
  next<T>(iterator: AsyncIterator<T>, timed = true): Promise<IteratorResult<T>> {
    if (timed) this.start();
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      // Whichever comes first ends the wait; a message arriving after the timeout is dropped with its call.
      const fail = (err: unknown) => {
        if (this.failWait === fail) this.endWait();
        reject(err);
      };
      this.failWait = fail;
      iterator.next().then((result) => {
        if (this.failWait === fail) this.endWait();
        resolve(result);
      }, fail);
    });
  }

  private endWait(): void {
    this.since = undefined;
    this.failWait = undefined;
  }

  /** Starts the clock of the wait in progress, if there is one and it is not timed yet. */
  timeWait(): void {
    if (this.failWait !== undefined) this.start();
  }

  private start(): void {
    if (this.since !== undefined || this.closed) return;
    this.since = Date.now();
    this.timer ??= setTimeout(this.check, this.timeoutMs);
  }

  close(): void {
    this.closed = true;
    this.since = undefined;
    clearTimeout(this.timer);
  }

  private readonly check = (): void => {
    this.timer = undefined;
    if (this.since === undefined || this.closed) return;
    const left = this.since + this.timeoutMs - Date.now();
    if (left > 0) this.timer = setTimeout(this.check, left);
    else this.failWait?.(new IdleTimeout(this.timeoutMs, this.outcome()));
  };
}

/** `iterator`, with every wait for its next message under `idle`'s rule. */
export function watchedIterator<T>(iterator: AsyncIterator<T>, idle: IdleWatch): AsyncIterator<T> {
  return { next: () => idle.next(iterator) };
}
