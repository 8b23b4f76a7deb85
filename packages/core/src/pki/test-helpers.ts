/** Shared fixtures for the PKI tests: throwaway directories and the real `openssl` binary. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export function tempDir(t: TestContext, prefix = 'ce-pki-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Run openssl without a shell; returns stdout (throws on a non-zero exit). */
export function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Exit status of an openssl run, with its combined output. */
export function opensslStatus(args: string[]): { status: number; output: string } {
  try {
    const out = execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, output: out };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { status: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** `openssl req -new -nodes ...` writing key and CSR into dir; returns the CSR PEM. */
export function opensslCsr(dir: string, name: string, args: string[]): string {
  const csrPath = join(dir, `${name}.csr`);
  openssl(['req', '-new', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', csrPath, ...args]);
  return readFileSync(csrPath, 'utf8');
}

/** Write text to a temp path in dir and return the path (for openssl -in). */
export function pemFile(dir: string, name: string, pem: string): string {
  const p = join(dir, name);
  writeFileSync(p, pem);
  return p;
}
