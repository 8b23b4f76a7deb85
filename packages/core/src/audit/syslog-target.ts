/**
 * Where syslog lines go, and the config spelling of it:
 * `local`, `local:/path/to/socket`, `none`, `stderr`, `tcp://host:port`, `tls://host:port`.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';

/** The local syslog daemon's socket when none is configured. */
export const DEFAULT_SYSLOG_SOCKET = '/dev/log';

export interface LocalSyslogTarget {
  kind: 'local';
  /** Datagram (or stream) unix socket of the syslog daemon; default /dev/log. */
  socket?: string;
  /** The util-linux `logger` binary; default `logger` found on PATH. */
  command?: string;
}
export interface TcpSyslogTarget {
  kind: 'tcp';
  host: string;
  port: number;
}
export interface TlsSyslogTarget {
  kind: 'tls';
  host: string;
  port: number;
  /** PEM file of the CA the collector's certificate must chain to. */
  ca: string;
  /** Optional client certificate and key (PEM files), for collectors that ask for one. */
  cert?: string;
  key?: string;
  /** Name checked against the collector's certificate (and sent as SNI); default `host`. */
  servername?: string;
}
export interface StderrSyslogTarget {
  kind: 'stderr';
}
export interface NoSyslogTarget {
  kind: 'none';
}

export type SyslogTarget = LocalSyslogTarget | TcpSyslogTarget | TlsSyslogTarget | StderrSyslogTarget | NoSyslogTarget;

/**
 * Settings that come from other config keys: the socket used by a bare `local`
 * (`syslog_socket`), and the TLS material a `tls://` target needs (`syslog_ca`...).
 * Undefined members are ignored.
 */
export interface SyslogTargetSettings {
  socket?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  servername?: string | undefined;
}

export interface ConfigLocation {
  file?: string;
  line?: number;
  key?: string;
}

const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** A DNS name or IPv4 address as written in `host:port` (IPv6 comes in brackets). */
export function isValidHostname(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  if (isIP(host) === 4) return true;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0) return false;
  const labels = name.split('.');
  // an all-numeric dotted name that is not an IPv4 address is a typo, not a host
  if (labels.every((l) => /^\d+$/.test(l))) return false;
  return labels.every((l) => HOST_LABEL.test(l));
}

function bad(spec: string, why: string, where: ConfigLocation): never {
  throw new ConfigError(
    `invalid syslog target '${spec}': ${why} (expected local, local:/path/to/socket, none, stderr, tcp://host:port or tls://host:port)`,
    { ...where, code: 'CE_ERR_CONFIG_VALUE' },
  );
}

/**
 * Parse a config value naming the syslog destination, completed from `settings`
 * (`local:/path` beats `settings.socket`; `tls://` requires `settings.ca`). Throws
 * ConfigError with code CE_ERR_CONFIG_VALUE (a CtrlExecError) for anything else.
 */
export function parseSyslogTarget(spec: string, settings: SyslogTargetSettings = {}, where: ConfigLocation = {}): SyslogTarget {
  if (typeof spec !== 'string') bad(String(spec), 'not a string', where);
  const value = spec.trim();
  if (value === 'local') {
    if (settings.socket === undefined) return { kind: 'local' };
    checkSocketPath(spec, settings.socket, where);
    return { kind: 'local', socket: settings.socket };
  }
  if (value === 'none') return { kind: 'none' };
  if (value === 'stderr') return { kind: 'stderr' };
  if (value.startsWith('local:')) {
    const socket = value.slice('local:'.length);
    checkSocketPath(spec, socket, where);
    return { kind: 'local', socket };
  }
  const m = /^(tcp|tls):\/\/(\[[^\]]*\]|[^:/[\]]*):([0-9]+)$/.exec(value);
  if (!m) bad(spec, 'unrecognised form', where);
  const kind = m[1] as 'tcp' | 'tls';
  let host = m[2]!;
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (isIP(host) !== 6) bad(spec, 'bracketed host is not an IPv6 address', where);
  } else if (!isValidHostname(host)) {
    bad(spec, 'invalid host name', where);
  }
  const digits = m[3]!;
  const port = digits.length <= 5 ? Number(digits) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) bad(spec, 'port must be 1-65535', where);
  if (kind === 'tcp') return { kind, host, port };
  if (settings.ca === undefined || settings.ca === '') bad(spec, 'a tls:// target needs a CA file (syslog_ca)', where);
  if ((settings.cert === undefined) !== (settings.key === undefined)) bad(spec, 'client certificate and key must be given together', where);
  return {
    kind,
    host,
    port,
    ca: settings.ca,
    ...(settings.cert !== undefined ? { cert: settings.cert } : {}),
    ...(settings.key !== undefined ? { key: settings.key } : {}),
    ...(settings.servername !== undefined ? { servername: settings.servername } : {}),
  };
}

function checkSocketPath(spec: string, socket: string, where: ConfigLocation): void {
  if (!socket.startsWith('/')) bad(spec, `the socket '${socket}' must be an absolute path`, where);
  if (/[\s\0]/.test(socket)) bad(spec, 'the socket path must not contain whitespace', where);
  if (Buffer.byteLength(socket) > 107) bad(spec, 'the socket path is longer than a unix socket address allows', where);
}
