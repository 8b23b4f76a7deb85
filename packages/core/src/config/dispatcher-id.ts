/** Longest dispatcher id upstream delivers at pairing. */
export const MAX_DISPATCHER_ID_LENGTH = 64;

/**
 * The dispatcher id delivered to agents at pairing (wire-protocol §2.7 step 4):
 * `dispatcher_id` from the config, else the host name; every byte outside
 * [A-Za-z0-9._-] becomes `-` (per UTF-8 byte, as upstream reads the file as bytes),
 * leading non-alphanumerics are removed, the result is cut to 64 characters, and an
 * empty result becomes `dispatcher`.
 */
export function sanitiseDispatcherId(raw: string | undefined, hostname: string): string {
  const source = raw !== undefined && raw !== '' ? raw : hostname;
  let id = '';
  for (const byte of Buffer.from(source, 'utf8')) {
    const c = String.fromCharCode(byte);
    id += /[A-Za-z0-9._-]/.test(c) ? c : '-';
  }
  id = id.replace(/^[^A-Za-z0-9]+/, '').slice(0, MAX_DISPATCHER_ID_LENGTH);
  return id === '' ? 'dispatcher' : id;
}
