/**
 * `allowed_ips` (wire-protocol §6.5): a comma-separated list of IPv4/IPv6 addresses and
 * CIDR ranges. Upstream accepts only IPv4 with /8, /16 or /24; every upstream list keeps
 * its meaning here, and any prefix length valid for the address family is accepted too.
 * Invalid entries are reported and dropped; a list with no valid entry disables the
 * restriction, as upstream.
 */
import ipaddr from 'ipaddr.js';

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

export interface AllowlistWarning {
  entry: string;
  message: 'malformed IP address' | 'invalid prefix length';
}

const IPV4_DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Four decimal octets 0-255. Leading zeros are read as decimal (upstream strips them),
 * never as octal; the shorthand and hex forms inet_aton takes are refused.
 */
function parseIpv4Strict(text: string): ipaddr.IPv4 | undefined {
  const m = IPV4_DOTTED.exec(text);
  if (!m) return undefined;
  const octets = [m[1], m[2], m[3], m[4]].map((o) => Number.parseInt(o!, 10));
  if (octets.some((o) => o > 255)) return undefined;
  return new ipaddr.IPv4(octets);
}

/** Plain IPv6 (no zone id). An IPv4-mapped address becomes the IPv4 address. */
function parseIpv6Strict(text: string): Addr | undefined {
  if (!text.includes(':') || text.includes('%')) return undefined;
  if (!ipaddr.IPv6.isValid(text)) return undefined;
  return ipaddr.IPv6.parse(text);
}

function parseAddress(text: string): Addr | undefined {
  return parseIpv4Strict(text) ?? parseIpv6Strict(text);
}

export interface IpRange {
  addr: Addr;
  bits: number;
}

/** Fold `::ffff:a.b.c.d/96+n` into the IPv4 range `a.b.c.d/n`, so both forms match alike. */
function normalise(range: IpRange): IpRange {
  if (range.addr.kind() === 'ipv6') {
    const v6 = range.addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress() && range.bits >= 96) return { addr: v6.toIPv4Address(), bits: range.bits - 96 };
  }
  return range;
}

function rangeText(r: IpRange): string {
  const maxBits = r.addr.kind() === 'ipv4' ? 32 : 128;
  const text = r.addr.kind() === 'ipv4' ? r.addr.toString() : (r.addr as ipaddr.IPv6).toRFC5952String();
  return r.bits === maxBits ? text : `${text}/${r.bits}`;
}

export class IpAllowlist {
  private readonly v4: IpRange[];
  private readonly v6: IpRange[];
  /** The accepted entries in normalised text form (for logs). */
  readonly entries: readonly string[];

  constructor(ranges: IpRange[]) {
    const normalised = ranges.map(normalise);
    this.v4 = normalised.filter((r) => r.addr.kind() === 'ipv4');
    this.v6 = normalised.filter((r) => r.addr.kind() === 'ipv6');
    this.entries = Object.freeze(normalised.map(rangeText));
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Whether a peer address (as a socket reports it) is listed. IPv4-mapped IPv6 peers
   * (`::ffff:10.0.0.1`) match IPv4 entries; a zone id on a peer is ignored. Anything
   * that is not an address is refused, never thrown.
   */
  allows(peer: string): boolean {
    try {
      if (typeof peer !== 'string' || peer.length === 0 || peer.length > 100) return false;
      const zoneless = peer.includes('%') ? peer.slice(0, peer.indexOf('%')) : peer;
      let addr = parseAddress(zoneless);
      if (!addr) return false;
      if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
      if (addr.kind() === 'ipv4') {
        const v4 = addr as ipaddr.IPv4;
        if (this.v4.some((r) => v4.match(r.addr, r.bits))) return true;
        // Entries like ::/0 or ::ffff:0:0/95 still cover IPv4 peers in their mapped form.
        if (this.v6.length === 0) return false;
        const mapped = v4.toIPv4MappedAddress();
        return this.v6.some((r) => mapped.match(r.addr, r.bits));
      }
      const v6 = addr as ipaddr.IPv6;
      return this.v6.some((r) => v6.match(r.addr, r.bits));
    } catch {
      return false;
    }
  }
}

const PREFIX_RE = /^\d{1,3}$/;

/**
 * Parse `allowed_ips`. Entries are trimmed; empty entries (stray commas) are ignored.
 * `list` is undefined when nothing is configured or no entry is valid.
 */
export function parseAllowedIps(raw: string | undefined): { list: IpAllowlist | undefined; warnings: AllowlistWarning[] } {
  const warnings: AllowlistWarning[] = [];
  const ranges: IpRange[] = [];
  if (raw === undefined) return { list: undefined, warnings };
  for (const part of raw.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const addrText = slash < 0 ? entry : entry.slice(0, slash);
    const addr = parseAddress(addrText);
    if (!addr) {
      warnings.push({ entry, message: 'malformed IP address' });
      continue;
    }
    const maxBits = addr.kind() === 'ipv4' ? 32 : 128;
    let bits = maxBits;
    if (slash >= 0) {
      const prefix = entry.slice(slash + 1);
      bits = PREFIX_RE.test(prefix) ? Number.parseInt(prefix, 10) : -1;
      if (bits < 0 || bits > maxBits) {
        warnings.push({ entry, message: 'invalid prefix length' });
        continue;
      }
    }
    ranges.push({ addr, bits });
  }
  return { list: ranges.length > 0 ? new IpAllowlist(ranges) : undefined, warnings };
}
