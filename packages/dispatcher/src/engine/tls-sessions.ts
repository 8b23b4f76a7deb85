/**
 * TLS sessions kept between dispatcher processes, so a `ctrl-exec run` started a moment
 * after the previous one resumes its TLS sessions with the agents instead of paying a full
 * handshake (an RSA signature on each side) per agent.
 *
 * The file (`<state_dir>/tls-sessions.json`, mode 0600, replaced atomically) holds, per
 * agent address, the last session the agent handed out. A resumption secret lets its holder
 * resume as this dispatcher until the agent forgets the ticket (Node agents: 300 s or their
 * restart), so the file is as secret as the dispatcher key. Entries are bound to the
 * dispatcher certificate they were made with: after a new certificate they are ignored, so a
 * resumed session never carries an identity the dispatcher no longer has. Anything unusable
 * (absent, unreadable, malformed, another certificate) just means full handshakes; a file
 * that cannot be written is left as it was.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '@ctrl-exec/core';

/** The file's name in the dispatcher's state_dir. */
export const TLS_SESSIONS_FILE = 'tls-sessions.json';

/** Where resumable sessions come from and go to. */
export interface TlsSessionStore {
  get(key: string): Buffer | undefined;
  set(key: string, session: Buffer): void;
  delete(key: string): void;
  /** Persist what changed; never throws. */
  save(): void;
}

export interface FileTlsSessionStoreOptions {
  /** Identity the sessions belong to (e.g. the SHA-256 fingerprint of the client certificate). */
  identity: string;
  /** Entries older than this are dropped. Default 2 h (TLS itself refuses expired tickets). */
  maxAgeMs?: number;
  /** Most entries kept, newest first. Default 4096. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  t: number;
  s: string;
}

const FORMAT_VERSION = 1;
const DEFAULT_MAX_AGE_MS = 2 * 60 * 60 * 1000;
const DEFAULT_MAX_ENTRIES = 4096;
/** A DER SSL_SESSION with a ticket is a few kB; anything far larger is not ours. */
const MAX_SESSION_BYTES = 64 * 1024;
const MAX_FILE_BYTES = 32 * 1024 * 1024;

export class FileTlsSessionStore implements TlsSessionStore {
  readonly file: string;
  readonly #identity: string;
  readonly #maxAgeMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  #entries: Map<string, Entry> | undefined;
  /** Keys set or deleted by this process since the last save. */
  readonly #changed = new Set<string>();

  constructor(file: string, options: FileTlsSessionStoreOptions) {
    this.file = file;
    this.#identity = options.identity;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#now = options.now ?? Date.now;
  }

  get(key: string): Buffer | undefined {
    const entry = this.#load().get(key);
    if (!entry || this.#now() - entry.t > this.#maxAgeMs) return undefined;
    return Buffer.from(entry.s, 'base64');
  }

  set(key: string, session: Buffer): void {
    if (session.length === 0 || session.length > MAX_SESSION_BYTES) return;
    this.#load().set(key, { t: this.#now(), s: session.toString('base64') });
    this.#changed.add(key);
  }

  delete(key: string): void {
    if (this.#load().delete(key)) this.#changed.add(key);
  }

  save(): void {
    if (this.#changed.size === 0) return;
    // Merge with what other processes saved meanwhile: ours win for the keys we touched.
    const merged = this.#read();
    for (const key of this.#changed) {
      const mine = this.#entries?.get(key);
      if (mine) merged.set(key, mine);
      else merged.delete(key);
    }
    const cutoff = this.#now() - this.#maxAgeMs;
    const kept = [...merged].filter(([, e]) => e.t >= cutoff).sort((a, b) => b[1].t - a[1].t).slice(0, this.#maxEntries);
    const doc = { version: FORMAT_VERSION, identity: this.#identity, sessions: Object.fromEntries(kept) };
    try {
      writeFileAtomicSync(this.file, `${JSON.stringify(doc)}\n`, { mode: 0o600, fsync: false });
      this.#changed.clear();
    } catch {
      /* not writable by this user: the next run does full handshakes, nothing else changes */
    }
  }

  #load(): Map<string, Entry> {
    this.#entries ??= this.#read();
    return this.#entries;
  }

  #read(): Map<string, Entry> {
    const entries = new Map<string, Entry>();
    let doc: unknown;
    try {
      const text = readFileSync(this.file, 'utf8');
      if (text.length > MAX_FILE_BYTES) return entries;
      doc = JSON.parse(text);
    } catch {
      return entries;
    }
    if (!isObject(doc) || doc.version !== FORMAT_VERSION || doc.identity !== this.#identity || !isObject(doc.sessions)) return entries;
    for (const [key, value] of Object.entries(doc.sessions)) {
      if (isObject(value) && typeof value.t === 'number' && Number.isFinite(value.t) && typeof value.s === 'string' && value.s.length > 0) {
        entries.set(key, { t: value.t, s: value.s });
      }
    }
    return entries;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
