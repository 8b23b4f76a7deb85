import { promises as dns } from 'node:dns';

/**
 * Forward-confirmed reverse DNS of an address, bounded in time: the PTR name is
 * reported confirmed only when it resolves back to the same address.
 */
export async function reverseLookup(ip: string, timeoutMs = 2000): Promise<{ name: string; confirmed: boolean }> {
  const work = (async () => {
    const names = await dns.reverse(ip);
    const name = names[0] ?? '';
    if (!name) return { name: '', confirmed: false };
    const addrs = await dns.lookup(name, { all: true });
    return { name, confirmed: addrs.some((a) => a.address === ip) };
  })().catch(() => ({ name: '', confirmed: false }));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ name: string; confirmed: boolean }>((resolve) => {
    timer = setTimeout(() => resolve({ name: '', confirmed: false }), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
