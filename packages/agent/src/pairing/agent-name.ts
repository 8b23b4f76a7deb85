/**
 * The name this agent pairs under (feature 88): agent.conf `hostname` when set, else the
 * fully qualified host name, else the short host name with a warning.
 */
import { hostname as osHostname } from 'node:os';
import { lookup, lookupService } from 'node:dns/promises';
import { CtrlExecError } from '@ctrl-exec/core';
import { printable } from './failure.js';

/** What the dispatcher accepts as an agent name (checked when it queues the request). */
export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface AgentNameResult {
  name: string;
  /** Set when only the short host name could be found. */
  warning?: string;
}

export interface AgentNameOptions {
  /** agent.conf `hostname`. */
  configured?: string;
  /** The system host name (default os.hostname()). */
  systemHostname?: string;
  /** Bound on the resolver calls (default 5000 ms). */
  timeoutMs?: number;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('resolver timeout')), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function isUsefulFqdn(name: string): boolean {
  return name.includes('.') && !/^localhost(\.|$)/i.test(name) && AGENT_NAME.test(name) && !name.endsWith('.');
}

/**
 * The host's fully qualified name: the host name itself when it has a dot, else the
 * canonical name the resolver gives for its address (as /etc/hosts usually lists it),
 * provided that name extends the short one (`web1` -> `web1.example.com`).
 */
export async function fullyQualifiedHostname(short: string, timeoutMs = 5000): Promise<string | undefined> {
  if (isUsefulFqdn(short)) return short;
  try {
    const { address } = await withTimeout(lookup(short), timeoutMs);
    const { hostname } = await withTimeout(lookupService(address, 0), timeoutMs);
    if (isUsefulFqdn(hostname) && hostname.toLowerCase().startsWith(`${short.toLowerCase()}.`)) return hostname;
  } catch {
    /* no resolver answer: fall back to the short name */
  }
  return undefined;
}

/** Throws CE_ERR_BAD_REQUEST when no usable name can be found (the dispatcher would refuse it). */
export async function resolveAgentName(options: AgentNameOptions = {}): Promise<AgentNameResult> {
  if (options.configured !== undefined) {
    if (!AGENT_NAME.test(options.configured)) {
      throw new CtrlExecError('CE_ERR_BAD_REQUEST', `invalid agent name '${printable(options.configured)}' in agent.conf 'hostname'`);
    }
    return { name: options.configured };
  }
  const short = options.systemHostname ?? osHostname();
  const fqdn = await fullyQualifiedHostname(short, options.timeoutMs);
  if (fqdn) return { name: fqdn };
  if (!AGENT_NAME.test(short)) {
    throw new CtrlExecError(
      'CE_ERR_BAD_REQUEST',
      `the host name '${printable(short)}' cannot be used as an agent name; set 'hostname' in agent.conf`,
    );
  }
  return {
    name: short,
    warning: `Warning: could not determine a fully qualified host name; pairing as '${short}'. Set 'hostname' in agent.conf to choose the name.`,
  };
}
