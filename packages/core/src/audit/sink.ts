/**
 * The shape every syslog destination shares, the two trivial ones (stderr, none), and the
 * small waiting helper the others use for flush().
 */
import { escapeControlChars } from './format.js';

export interface SinkStats {
  /** Lines given up on (queue full, transport stuck) since the logger was created. */
  dropped: number;
  /** Lines waiting to be handed to the OS. */
  queued: number;
}

export interface SyslogSink {
  /** Hand over one message at PRI `priority`; never throws, never blocks. */
  write(priority: number, line: string): void;
  /** Resolve once everything written so far is with the OS, or the sink cannot make progress now, or `timeoutMs` passed. */
  flush(timeoutMs: number): Promise<void>;
  /** Flush (bounded), then release the transport. */
  close(timeoutMs: number): Promise<void>;
  stats(): SinkStats;
}

/** Writes raw text to our stderr; never throws. */
export type TextWriter = (text: string) => void;

export const writeStderr: TextWriter = (text) => {
  try {
    process.stderr.write(text);
  } catch {
    // stderr gone: nowhere left to report to
  }
};

/** `<ident>: <message>` on stderr, upstream's form for lines logged before syslog is set up. */
export function stderrLine(ident: string, line: string): string {
  return `${ident}: ${escapeControlChars(line)}\n`;
}

export class StderrSink implements SyslogSink {
  readonly #ident: string;
  readonly #out: TextWriter;

  constructor(ident: string, out: TextWriter = writeStderr) {
    this.#ident = ident;
    this.#out = out;
  }

  write(_priority: number, line: string): void {
    this.#out(stderrLine(this.#ident, line));
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}

  stats(): SinkStats {
    return { dropped: 0, queued: 0 };
  }
}

export class NullSink implements SyslogSink {
  write(): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  stats(): SinkStats {
    return { dropped: 0, queued: 0 };
  }
}

/**
 * Resolves waiters when a condition becomes true; `check()` is called by the owner after
 * every state change. Each wait is bounded by its own timer, which is deliberately NOT
 * unref'd: the transports are, so this timer is what keeps a short-lived process alive
 * until its last lines are out.
 */
export class IdleWaiter {
  readonly #isIdle: () => boolean;
  readonly #waiters = new Set<() => void>();

  constructor(isIdle: () => boolean) {
    this.#isIdle = isIdle;
  }

  wait(timeoutMs: number): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.#waiters.add(done);
    });
  }

  check(): void {
    if (this.#waiters.size === 0 || !this.#isIdle()) return;
    for (const done of [...this.#waiters]) done();
  }
}
