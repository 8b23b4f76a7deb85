/** What every scanner-output parser provides. */
import type { Finding } from '../finding.js';

export interface ScannerParser {
  /** Engine name, as findings carry it. */
  engine: string;
  /** Parse the engine's report (the whole text of its output). Throws ScanParseError on malformed input. */
  parse(text: string): Finding[];
}

/** Malformed scanner output: `engine` and a reason a user can act on. */
export class ScanParseError extends Error {
  readonly engine: string;

  constructor(engine: string, reason: string, options: { cause?: unknown } = {}) {
    super(`cannot read ${engine} output: ${reason}`, options);
    this.name = 'ScanParseError';
    this.engine = engine;
  }
}

/**
 * JSON.parse with a ScanParseError naming the engine. The error gives the position only:
 * V8's own message quotes the text around the fault, which may be part of a secret.
 */
export function parseJson(engine: string, text: string): unknown {
  if (text.trim() === '') throw new ScanParseError(engine, 'empty output');
  try {
    return JSON.parse(text);
  } catch (err) {
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new ScanParseError(engine, position === undefined ? 'not JSON' : `not JSON (error at position ${position})`);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A string field or undefined (empty strings count as absent). */
export function str(obj: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = obj?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A positive integer field or undefined. */
export function int(obj: Record<string, unknown> | undefined, key: string): number | undefined {
  const v = obj?.[key];
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}
