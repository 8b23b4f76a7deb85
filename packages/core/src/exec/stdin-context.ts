/** The JSON document a script receives on stdin (wire-protocol §7.3, features item 100). */
import { isoUtc } from '../time.js';

export interface StdinContextFields {
  script: string;
  /** The request's args as received (non-strings are kept as they came). */
  args: readonly unknown[];
  reqid: string;
  /** The dispatcher's IP address as seen by the agent. */
  peer_ip: string;
  username: string;
  /** The caller's token, forwarded to the script as upstream does. */
  token: string;
  /** The calling dispatcher's id. */
  dispatcher: string;
  /** A Date (formatted `YYYY-MM-DDTHH:MM:SSZ`), a ready string, or now when omitted. */
  timestamp?: Date | string;
}

/** The exact stdin JSON, keys in upstream's order, compact. */
export function buildStdinContext(fields: StdinContextFields): string {
  const ts = fields.timestamp;
  return JSON.stringify({
    script: fields.script ?? '',
    args: Array.isArray(fields.args) ? fields.args : [],
    reqid: fields.reqid ?? '',
    peer_ip: fields.peer_ip ?? '',
    username: fields.username ?? '',
    token: fields.token ?? '',
    dispatcher: fields.dispatcher ?? '',
    timestamp: typeof ts === 'string' ? ts : isoUtc(ts ?? new Date()),
  });
}
