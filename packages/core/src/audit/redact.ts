/**
 * Keeping credentials out of the audit trail. Two rules, applied to every rendering:
 * a field whose name looks like a credential is dropped whole, and every registered
 * secret string is replaced wherever it occurs inside a value (an error message that
 * quotes a token, a URL with a password in it...).
 */

/** Field names never logged, at any depth. */
export const SENSITIVE_FIELD = /token|password|secret|authorization/i;

/** What a registered secret becomes in a log line. */
export const REDACTED = '[redacted]';

/** Secrets shorter than this are ignored: replacing them would shred ordinary text. */
export const MIN_SECRET_LENGTH = 4;

export function isSensitiveField(name: string): boolean {
  return SENSITIVE_FIELD.test(name);
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** A set of secret strings, replaced in one pass (longest first) by `[redacted]`. */
export class SecretRedactor {
  readonly #secrets = new Set<string>();
  #pattern: RegExp | undefined;

  /** Register a secret; non-strings and strings shorter than 4 characters are ignored. */
  add(secret: unknown): void {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH || this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    const ordered = [...this.#secrets].sort((a, b) => b.length - a.length);
    this.#pattern = new RegExp(ordered.map(escapeRegExp).join('|'), 'g');
  }

  get size(): number {
    return this.#secrets.size;
  }

  redact(text: string): string {
    if (this.#pattern === undefined) return text;
    this.#pattern.lastIndex = 0;
    return text.replace(this.#pattern, REDACTED);
  }
}

/** A redactor with nothing registered, for renderings outside a logger. */
export const NO_SECRETS: Pick<SecretRedactor, 'redact'> = { redact: (text: string) => text };
