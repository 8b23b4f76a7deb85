/**
 * JSON shapes of the agent protocol on port 7443 (wire-protocol §1.5), shared by the
 * agent (which answers them) and the dispatcher (which sends and reads them).
 * Fields beyond upstream's are optional and ignored by upstream peers.
 */

export const AGENT_PORT = 7443;
export const AGENT_MAX_BODY_BYTES = 1024 * 1024;
export const AGENT_MAX_HEADERS = 32;
export const SCRIPT_NAME = /^[\w-]+$/;
export const ASYNC_REQID = /^[A-Za-z0-9_-]+$/;

/** POST /run request body. `async` is present only for asynchronous runs. */
export interface RunRequest {
  script: string;
  args: string[];
  reqid: string;
  username: string;
  token: string;
  async?: true;
}

/** POST /run: a finished synchronous run (HTTP 200). */
export interface RunResponse {
  script: string;
  exit: number;
  stdout: string;
  stderr: string;
  reqid: string;
  /** Ours: set when a stream exceeded the per-script cap (head and tail kept). */
  truncated?: boolean;
  stdout_bytes?: number;
  stderr_bytes?: number;
  /** Ours: set when the script was killed by its `timeout=`. */
  timed_out?: boolean;
}

/** POST /run refusals (HTTP 200 with exit -1), e.g. `script not permitted`. */
export interface RunRefusal {
  script?: string;
  exit: -1;
  error: string;
  reqid?: string;
}

/** POST /run async: 202 accepted, 409 busy. */
export interface AsyncAccepted {
  script: string;
  status: 'accepted';
  reqid: string;
}
export interface AsyncBusy {
  script: string;
  status: 'busy';
  reqid: string;
  error: 'script already running';
}

/** POST /ping response. */
export interface PingResponse {
  status: 'ok';
  host: string;
  version: string;
  expiry: string;
  staged: boolean;
  reqid: string;
}

export interface ScriptCapability {
  name: string;
  path: string;
  executable: boolean;
  profile: string;
  schema?: Record<string, unknown>;
  schema_version?: string;
}

/** GET /capabilities response. */
export interface CapabilitiesResponse {
  status: 'ok';
  host: string;
  version: string;
  scripts: ScriptCapability[];
  tags: Record<string, string>;
}

/** GET /result/<reqid>: the agent-side async record (wire-protocol §5.6). */
export type AsyncRecord =
  | { reqid: string; status: 'running'; script: string; owner: string; started: string; /** The job process (ours; for cancel). */ pid?: number }
  | {
      reqid: string;
      status: 'done';
      script: string;
      owner: string;
      started: string;
      finished: string;
      exit: number;
      stdout: string;
      stderr: string;
      truncated?: boolean;
      /** Ended by a cancel request (ours). */
      cancelled?: boolean;
    };

/** 404 from GET /result/<reqid>. */
export interface ResultUnknown {
  status: 'unknown';
  reqid: string;
}

/** Gate refusals. */
export const SERIAL_MISMATCH = { error: 'serial mismatch', status: 'forbidden' } as const;
export const CERT_REVOKED = { error: 'certificate revoked' } as const;
