/**
 * The TLS policy shared by every ctrl-exec endpoint (wire-protocol §1.1): TLS 1.2 and 1.3 only,
 * TLS 1.2 limited to ECDHE with AES-GCM.
 */
export const TLS12_CIPHERS = [
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
].join(':');

export const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'].join(':');

export const TLS_POLICY = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: `${TLS13_SUITES}:${TLS12_CIPHERS}`,
  honorCipherOrder: true,
} as const;
