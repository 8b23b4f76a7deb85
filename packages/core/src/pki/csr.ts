/**
 * Certificate signing requests: making one (agent side, as `openssl req -new -subj /CN=<host>`
 * would) and checking one before anything is signed (dispatcher side, wire-protocol §2.2, §3.4).
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { CtrlExecError, CsrRejectedError } from '../errors.js';
import {
  ASN1_TYPE as T,
  OID,
  algorithm,
  bits,
  children,
  cnName,
  commonNames,
  decodeStrict,
  encode,
  expectUniversal,
  fromBinary,
  isContext,
  oidOf,
  pemDecode,
  pemEncode,
  primitiveBytes,
  seq,
  smallInt,
  type Asn1,
} from './der.js';
import { MIN_KEY_BITS } from './keys.js';
import type Forge from 'node-forge';
import { lazyRequire } from '../lazy.js';

const forge = lazyRequire<typeof Forge>('node-forge');

export const CSR_PEM_HEADER = '-----BEGIN CERTIFICATE REQUEST-----';
export const CSR_MAX_BYTES = 10240;

export interface ValidatedCsr {
  commonName: string;
  publicKey: KeyObject;
  bits: number;
  /** OpenSSL's name for it, e.g. `sha256WithRSAEncryption` (the dotted OID when unknown). */
  signatureAlgorithm: string;
}

interface SigAlg {
  name: string;
  /** node:crypto digest used to check the self-signature; absent when we cannot check it at all. */
  digest?: string;
  weak: boolean;
}

const SIGNATURE_ALGORITHMS: Record<string, SigAlg> = {
  '1.2.840.113549.1.1.2': { name: 'md2WithRSAEncryption', weak: true },
  '1.2.840.113549.1.1.3': { name: 'md4WithRSAEncryption', weak: true },
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', digest: 'md5', weak: true },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', digest: 'sha1', weak: true },
  '1.3.14.3.2.29': { name: 'sha1WithRSA', digest: 'sha1', weak: true },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption', digest: 'sha224', weak: false },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', digest: 'sha256', weak: false },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', digest: 'sha384', weak: false },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', digest: 'sha512', weak: false },
  '2.16.840.1.101.3.4.3.13': { name: 'RSA-SHA3-224', digest: 'sha3-224', weak: false },
  '2.16.840.1.101.3.4.3.14': { name: 'RSA-SHA3-256', digest: 'sha3-256', weak: false },
  '2.16.840.1.101.3.4.3.15': { name: 'RSA-SHA3-384', digest: 'sha3-384', weak: false },
  '2.16.840.1.101.3.4.3.16': { name: 'RSA-SHA3-512', digest: 'sha3-512', weak: false },
};

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkCommonName(cn: unknown): string {
  if (typeof cn !== 'string' || cn.length === 0 || Buffer.byteLength(cn) > 255 || CONTROL.test(cn)) {
    throw new CtrlExecError('CE_ERR_BAD_REQUEST', 'certificate common name must be 1-255 bytes of printable text', { details: { commonName: cn } });
  }
  return cn;
}

function rsaPrivateKey(keyPem: string | KeyObject): KeyObject {
  let key: KeyObject;
  try {
    key = typeof keyPem === 'string' ? createPrivateKey(keyPem) : keyPem;
  } catch (err) {
    throw new CtrlExecError('CE_ERR_CONFIG_VALUE', 'not a readable private key', { cause: err });
  }
  const size = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa' || size < MIN_KEY_BITS) {
    throw new CtrlExecError('CE_ERR_KEY_SIZE', `an RSA private key of at least ${MIN_KEY_BITS} bits is required`, {
      details: { type: key.asymmetricKeyType, bits: size },
    });
  }
  return key;
}

/** PEM CSR for `CN=<commonName>` only, no attributes or extensions, signed sha256WithRSAEncryption. */
export function createCsr(keyPem: string, commonName: string): string {
  const key = rsaPrivateKey(keyPem);
  const cn = checkCommonName(commonName);
  const spkiDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const info = seq([
    smallInt(0),
    cnName(cn),
    decodeStrict(spkiDer),
    // attributes [0] IMPLICIT SET OF Attribute: present and empty, as openssl writes it
    forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, true, []),
  ]);
  const infoDer = encode(info);
  const signature = sign('sha256', infoDer, key);
  return pemEncode('CERTIFICATE REQUEST', encode(seq([info, algorithm(OID.sha256WithRSAEncryption), bits(signature)])));
}

function reject(code: ConstructorParameters<typeof CsrRejectedError>[0], message: string, cause?: unknown): never {
  throw new CsrRejectedError(code, message, cause === undefined ? undefined : { cause });
}

interface ParsedCsr {
  infoDer: Buffer;
  subject: Asn1;
  spki: Asn1;
  keyAlgOid: string;
  sigAlgOid: string;
  signature: Buffer;
}

function parseCsrDer(der: Buffer): ParsedCsr {
  const root = decodeStrict(der);
  const [info, sigAlg, sigBits, ...extra] = children(expectUniversal(root, T.SEQUENCE, 'CSR'), 'CSR');
  if (!info || !sigAlg || !sigBits || extra.length) throw new Error('CSR: expected 3 elements');
  const [version, subject, spki, attrs, ...more] = children(expectUniversal(info, T.SEQUENCE, 'CSR info'), 'CSR info');
  if (!version || !subject || !spki || more.length) throw new Error('CSR info: unexpected layout');
  if (attrs !== undefined && !isContext(attrs, 0)) throw new Error('CSR info: unexpected element after key');
  if (fromBinary(primitiveBytes(version, T.INTEGER, 'version')).toString('hex') !== '00') throw new Error('CSR: unsupported version');
  const [keyAlg] = children(expectUniversal(spki, T.SEQUENCE, 'public key info'), 'public key info');
  const keyAlgOid = oidOf(children(expectUniversal(keyAlg, T.SEQUENCE, 'key algorithm'), 'key algorithm')[0], 'key algorithm');
  const sigAlgOid = oidOf(children(expectUniversal(sigAlg, T.SEQUENCE, 'signature algorithm'), 'signature algorithm')[0], 'signature algorithm');
  const sig = fromBinary(primitiveBytes(sigBits, T.BITSTRING, 'signature'));
  if (sig.length < 2 || sig[0] !== 0) throw new Error('signature: not a whole number of bytes');
  return { infoDer: encode(info), subject, spki, keyAlgOid, sigAlgOid, signature: sig.subarray(1) };
}

/**
 * Check a CSR before signing. Each hostile input gets its own, most specific refusal
 * (CsrRejectedError), in this order: size, PEM header at position 0, structure, RSA key,
 * a signature algorithm we can check at all, self-signature, key size, digest strength,
 * expected CN.
 */
export function validateCsr(pem: string, opts: { expectedCn?: string } = {}): ValidatedCsr {
  if (typeof pem !== 'string') reject('CE_ERR_CSR_NOT_PEM', 'CSR is not PEM text');
  if (Buffer.byteLength(pem, 'utf8') > CSR_MAX_BYTES) reject('CE_ERR_CSR_TOO_LARGE', `CSR too large (max ${CSR_MAX_BYTES} bytes)`);
  if (!pem.startsWith(CSR_PEM_HEADER)) reject('CE_ERR_CSR_NOT_PEM', `CSR must start with ${CSR_PEM_HEADER}`);

  const der = pemDecode('CERTIFICATE REQUEST', pem);
  if (!der) reject('CE_ERR_CSR_MALFORMED', 'CSR PEM encoding is malformed');
  let parsed: ParsedCsr;
  let names: string[];
  try {
    parsed = parseCsrDer(der);
    names = commonNames(parsed.subject);
  } catch (err) {
    reject('CE_ERR_CSR_MALFORMED', 'CSR could not be parsed', err);
  }
  const commonName = names[0];
  if (names.length !== 1 || commonName === undefined || commonName === '' || CONTROL.test(commonName)) {
    reject('CE_ERR_CSR_MALFORMED', 'CSR subject must carry exactly one printable common name');
  }

  if (parsed.keyAlgOid !== OID.rsaEncryption) reject('CE_ERR_CSR_NOT_RSA', 'CSR public key is not RSA');
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: encode(parsed.spki), format: 'der', type: 'spki' });
  } catch (err) {
    reject('CE_ERR_CSR_MALFORMED', 'CSR public key could not be read', err);
  }
  if (publicKey.asymmetricKeyType !== 'rsa') reject('CE_ERR_CSR_NOT_RSA', 'CSR public key is not RSA');
  const keyBits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;

  const alg = SIGNATURE_ALGORITHMS[parsed.sigAlgOid];
  const algName = alg?.name ?? parsed.sigAlgOid;
  const weakDigest = () => reject('CE_ERR_CSR_WEAK_DIGEST', `CSR uses a weak or unrecognised signature algorithm (${algName})`);
  if (!alg?.digest) weakDigest();

  let signatureOk = false;
  try {
    signatureOk = verify(alg!.digest!, parsed.infoDer, publicKey, parsed.signature);
  } catch {
    signatureOk = false;
  }
  if (!signatureOk) reject('CE_ERR_CSR_BAD_SIGNATURE', 'CSR self-signature does not verify');
  if (keyBits < MIN_KEY_BITS) reject('CE_ERR_CSR_KEY_TOO_SMALL', `CSR public key too small (need >= ${MIN_KEY_BITS} bits)`);
  if (alg!.weak) weakDigest();
  if (opts.expectedCn !== undefined && commonName !== opts.expectedCn) {
    reject('CE_ERR_CSR_CN_MISMATCH', 'CSR subject CN does not match the expected identity');
  }
  return { commonName: commonName!, publicKey, bits: keyBits, signatureAlgorithm: algName };
}
