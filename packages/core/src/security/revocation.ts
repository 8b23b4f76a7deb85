/**
 * The agent's revocation list (`revoked_serials`, wire-protocol §6.6): one serial per
 * line in any form an operator may type (`deadbeef`, `DE:AD:BE:EF`, `0xdeadbeef`,
 * `serial=DEADBEEF`, decimal `3735928559`), `#` comments, blank lines. An absent file
 * revokes nothing.
 */
import { readFileSync } from 'node:fs';
import { CtrlExecError } from '../errors.js';
import { parseSerialInput, serialCandidates } from '../pki/serial.js';

export interface SerialFileWarning {
  /** 1-based line number. */
  line: number;
  /** The line's content, comment removed and trimmed. */
  entry: string;
  message: string;
}

export class RevocationList {
  private readonly serials: ReadonlySet<string>;

  /** `serials` are canonical (parseSerialInput / canonicalSerialHex output). */
  constructor(serials: Iterable<string> = []) {
    this.serials = new Set(serials);
  }

  get size(): number {
    return this.serials.size;
  }

  /** The canonical entries, sorted. */
  entries(): string[] {
    return [...this.serials].sort();
  }

  /**
   * Whether a certificate's serial (hex, as the certificate carries it) is listed, under
   * its canonical hex or upstream's reading of it. An empty or non-hex serial (no
   * certificate) is never revoked here; other checks refuse such peers.
   */
  isRevoked(certSerial: string): boolean {
    if (this.serials.size === 0) return false;
    let candidates: string[];
    try {
      candidates = serialCandidates(certSerial);
    } catch {
      return false;
    }
    return candidates.some((c) => this.serials.has(c));
  }
}

/** Remove a `#` comment (anywhere on the line) and surrounding blanks. */
export function stripComment(line: string): string {
  const hash = line.indexOf('#');
  return (hash < 0 ? line : line.slice(0, hash)).trim();
}

/**
 * Read a revocation file. Invalid lines are reported and skipped. An absent file gives
 * an empty list and `absent: true` (the caller logs `revoked-serials-absent`); any other
 * read failure throws CE_ERR_FS.
 */
export function loadRevokedSerials(path: string): { revoked: RevocationList; absent: boolean; warnings: SerialFileWarning[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { revoked: new RevocationList(), absent: true, warnings: [] };
    throw new CtrlExecError('CE_ERR_FS', `cannot read revoked serials '${path}': ${code ?? String(err)}`, {
      cause: err,
      details: { path, errno: code },
    });
  }
  const serials: string[] = [];
  const warnings: SerialFileWarning[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const entry = stripComment(raw);
    if (entry === '') return;
    const serial = parseSerialInput(entry);
    if (serial === undefined) warnings.push({ line: i + 1, entry, message: 'invalid serial' });
    else serials.push(serial);
  });
  return { revoked: new RevocationList(serials), absent: false, warnings };
}
