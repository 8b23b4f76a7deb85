/** What a route handler gets, and what it answers. */
import type { AuditEvent } from '@ctrl-exec/core';
import type { PeerIdentity } from './peer.js';
import type { ServerState } from './state.js';

export interface Reply {
  status: number;
  body: unknown;
}

/** Fixed for the server's life. */
export interface AgentRuntime {
  /** The agent's name (`host` in responses). */
  name: string;
  version: string;
  /** agent.conf, as read at start (restart-only settings come from here). */
  configFile: string;
  /** Environment the scripts' (scrubbed) environment is taken from. */
  env: NodeJS.ProcessEnv;
  /** The async job entry file. */
  jobEntry: string;
  log(event: AuditEvent): void;
  addSecret(secret: string): void;
  /** Aborted when the server gives up waiting for in-flight runs at shutdown. */
  shutdown: AbortSignal;
}

export interface RouteContext {
  runtime: AgentRuntime;
  /** The state when the request arrived (a SIGHUP does not change it under a request). */
  state: ServerState;
  peer: PeerIdentity;
  /** The trusted dispatcher id of the peer (the map gate has passed); '' on the ungated renewal routes. */
  dispatcher: string;
  body: Buffer;
}
