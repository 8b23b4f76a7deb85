/** Validation against the OASIS SARIF 2.1.0 JSON schema (draft-04), for tests. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

let validate: ValidateFunction | undefined;

/** Undefined when `log` is valid SARIF 2.1.0, else the validator's errors as text. */
export function sarifSchemaErrors(log: unknown): string | undefined {
  if (!validate) {
    const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as Record<string, unknown>;
    delete schema.id;
    type Draft04 = new (options: Record<string, unknown>) => { compile(schema: object): ValidateFunction };
    const Ajv = (require('ajv-draft-04') as { default: Draft04 }).default;
    // the schema's language-tag pattern is not valid with the `u` flag
    validate = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }).compile(schema);
  }
  const check = validate;
  return check(log) ? undefined : JSON.stringify(check.errors, null, 1).slice(0, 4000);
}
