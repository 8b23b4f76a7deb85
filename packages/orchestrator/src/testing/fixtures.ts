/** The real scanner outputs kept in packages/orchestrator/fixtures/scanners (see its README). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/scanners/', import.meta.url));

/** The text of `fixtures/scanners/<engine>/<file>`. */
export function fixture(engine: string, file: string): string {
  return readFileSync(`${FIXTURES_DIR}${engine}/${file}`, 'utf8');
}
