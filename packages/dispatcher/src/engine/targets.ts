/**
 * From what the operator typed to where the dispatcher connects (wire-protocol §5.2):
 * a reference is `name` or `name:port`; the name must be a registered agent; the address
 * is the stored ip when the agent is looked up by ip (and has one), else its hostname;
 * the port is the suffix, else the stored port.
 */
import { AGENT_PORT, CtrlExecError, isValidAgentName, type AgentRecord, type Registry } from '@ctrl-exec/core';

/** At most this many hosts in one operation (upstream's cap). */
export const MAX_HOSTS = 500;

export interface ResolvedHost {
  /** The reference as given (`web-01` or `web-01:8443`). */
  ref: string;
  /** Registry name: what results are keyed and displayed by. */
  name: string;
  /** What we connect to. */
  address: string;
  port: number;
  /** `addr` when the port is 7443, else `addr:port` (audit TARGET). */
  target: string;
  record: AgentRecord;
}

const REF_WITH_PORT = /^([^:]+):(\d{1,5})$/;

/** Split `name[:port]`; a port outside 1-65535 leaves the whole text as the name. */
export function parseHostRef(ref: string): { name: string; port?: number } {
  const m = REF_WITH_PORT.exec(ref);
  if (m) {
    const port = Number(m[2]);
    if (port >= 1 && port <= 65535) return { name: m[1]!, port };
  }
  return { name: ref };
}

export function targetLabel(address: string, port: number): string {
  return port === AGENT_PORT ? address : `${address}:${port}`;
}

/** Where a registered agent is reached: its IP when it was paired by IP, else its name. */
export function agentAddress(record: AgentRecord, name: string = record.hostname): string {
  return record.lookup_by === 'ip' && record.ip !== '' ? record.ip : record.hostname || name;
}

/** Resolve one reference, or undefined when the name is not a registered agent. */
export function resolveHostRef(registry: Registry, ref: string): ResolvedHost | undefined {
  const { name, port } = parseHostRef(ref);
  if (!isValidAgentName(name)) return undefined;
  const record = registry.get(name);
  if (!record) return undefined;
  const address = agentAddress(record, name);
  const p = port ?? record.port;
  return { ref, name, address, port: p, target: targetLabel(address, p), record };
}

/** `unknown agent: x` / `unknown agents: x, y` (CE_ERR_UNKNOWN_AGENT, details.unknown). */
export function unknownAgentsError(names: string[]): CtrlExecError {
  const label = names.length === 1 ? 'unknown agent' : 'unknown agents';
  return new CtrlExecError('CE_ERR_UNKNOWN_AGENT', `${label}: ${names.join(', ')}`, { details: { unknown: names } });
}

/** Refuse an empty host list or more than MAX_HOSTS (CE_ERR_USAGE). */
export function checkHostCount(refs: readonly unknown[]): void {
  if (refs.length === 0) throw new CtrlExecError('CE_ERR_USAGE', 'no hosts given');
  if (refs.length > MAX_HOSTS) {
    throw new CtrlExecError('CE_ERR_USAGE', `too many hosts (max ${MAX_HOSTS})`, { details: { count: refs.length, max: MAX_HOSTS } });
  }
}

/** Resolve every reference, in order; any unregistered name fails the whole operation. */
export function resolveHosts(registry: Registry, refs: readonly string[]): ResolvedHost[] {
  checkHostCount(refs);
  const out: ResolvedHost[] = [];
  const unknown: string[] = [];
  for (const ref of refs) {
    if (typeof ref !== 'string') {
      unknown.push(String(ref));
      continue;
    }
    const host = resolveHostRef(registry, ref);
    if (host) out.push(host);
    else {
      const { name } = parseHostRef(ref);
      if (!unknown.includes(name)) unknown.push(name);
    }
  }
  if (unknown.length > 0) throw unknownAgentsError(unknown);
  return out;
}
