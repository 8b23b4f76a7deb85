import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * An object that loads its module on first property access. Heavy dependencies that only
 * some commands need (node-forge for certificate building) stay out
 * of every other command's start-up time.
 */
export function lazyObject<T extends object>(load: () => T): T {
  let value: T | undefined;
  return new Proxy({} as T, {
    get: (_target, key) => Reflect.get((value ??= load()), key),
    has: (_target, key) => Reflect.has((value ??= load()), key),
  });
}

/** A CommonJS package, required on first use. */
export function lazyRequire<T extends object>(id: string): T {
  return lazyObject(() => require(id) as T);
}
