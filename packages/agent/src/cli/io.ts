/** A channel to the process that started this one (set only in a background pairing worker). */
export interface ParentChannel {
  send(message: unknown): Promise<void>;
  disconnect(): void;
  readonly connected: boolean;
}

/** Where a command reads and writes: the real process streams, or test doubles. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** The argv used to re-launch this program (node + script), for background modes. */
  self: { execPath: string; script: string };
  /** The IPC channel to the parent, when this process was started with one. */
  parent?: ParentChannel;
  /** Current process id (recorded in the background pairing state file). */
  pid: number;
}

function parentChannel(): ParentChannel | undefined {
  if (typeof process.send !== 'function') return undefined;
  return {
    send: (message: unknown) =>
      new Promise<void>((resolve, reject) => {
        if (!process.connected || !process.send) {
          reject(new Error('parent channel closed'));
          return;
        }
        process.send(message, undefined, {}, (err: Error | null) => (err ? reject(err) : resolve()));
      }),
    disconnect: () => {
      if (process.connected) process.disconnect();
    },
    get connected() {
      return process.connected;
    },
  };
}

export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    self: { execPath: process.execPath, script: process.argv[1] ?? '' },
    parent: parentChannel(),
    pid: process.pid,
  };
}
