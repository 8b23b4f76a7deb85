/** Where a command reads and writes: the real process streams, or test doubles. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** The argv used to re-launch this program (node + script), for background modes. */
  self: { execPath: string; script: string };
}

export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    self: { execPath: process.execPath, script: process.argv[1] ?? '' },
  };
}
