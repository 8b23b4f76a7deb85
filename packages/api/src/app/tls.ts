/**
 * The API listener's TLS (wire-protocol §9): on when `api_cert` and `api_key` are both
 * set, with the shared TLS policy and no client certificate. Unlike upstream, which falls
 * back to plain HTTP when a file is missing, a half or unreadable TLS setup is a
 * configuration error: an operator who asked for TLS never gets plain HTTP by accident.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError, TLS_POLICY, type DispatcherConfig } from '@ctrl-exec/core';

export interface ApiTlsOptions {
  key: Buffer;
  cert: Buffer;
  minVersion: typeof TLS_POLICY.minVersion;
  maxVersion: typeof TLS_POLICY.maxVersion;
  ciphers: string;
  honorCipherOrder: boolean;
}

function read(config: DispatcherConfig, key: 'api_cert' | 'api_key', path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ConfigError(`cannot read '${path}': ${code}`, { file: config.file, line: config.lines.get(key), key, code: 'CE_ERR_CONFIG_VALUE' }, { cause: err });
  }
}

/** The https options, or undefined for plain HTTP. */
export function apiTlsOptions(config: DispatcherConfig): ApiTlsOptions | undefined {
  const { apiCert, apiKey } = config;
  if (apiCert === undefined && apiKey === undefined) return undefined;
  if (apiCert === undefined || apiKey === undefined) {
    const missing = apiCert === undefined ? 'api_cert' : 'api_key';
    throw new ConfigError(`api_cert and api_key must be set together ('${missing}' is missing)`, { file: config.file, key: missing, code: 'CE_ERR_CONFIG_VALUE' });
  }
  const options: ApiTlsOptions = {
    cert: read(config, 'api_cert', apiCert),
    key: read(config, 'api_key', apiKey),
    minVersion: TLS_POLICY.minVersion,
    maxVersion: TLS_POLICY.maxVersion,
    ciphers: TLS_POLICY.ciphers,
    honorCipherOrder: TLS_POLICY.honorCipherOrder,
  };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new ConfigError(`unusable API TLS certificate or key: ${(err as Error).message}`, { file: config.file, key: 'api_cert', code: 'CE_ERR_CONFIG_VALUE' }, { cause: err });
  }
  return options;
}
