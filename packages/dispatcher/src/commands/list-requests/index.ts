import type { CommandSpec } from '../../cli/command.js';
import { row } from '../../cli/format.js';
import { pairingQueueOf } from '../../cli/state.js';
import type { PairingRequest } from '@ctrl-exec/core';

const WIDTHS = [10, 24, 16, 28];

export function requestTableLines(requests: PairingRequest[]): string[] {
  const lines = [row(['ID', 'HOSTNAME', 'SOURCE IP', 'REVERSE DNS', 'CODE'], WIDTHS)];
  for (const r of requests) {
    const rdns = r.reverse_dns ? `${r.reverse_dns} ${r.reverse_confirmed ? '(ok)' : '(?)'}` : '-';
    lines.push(row([r.id, r.hostname, r.source_ip, rdns, r.code], WIDTHS));
  }
  return lines;
}

export const listRequests: CommandSpec = {
  name: 'list-requests',
  summary: 'show pending pairing requests',
  configure() {},
  async run(ctx) {
    const queue = pairingQueueOf(ctx.config());
    queue.expireStale();
    const pending = queue.pending();
    if (ctx.json) {
      ctx.printJson({
        ok: 1,
        requests: pending.map(({ csr: _csr, nonce: _nonce, ...rest }) => rest),
      });
      return 0;
    }
    if (pending.length === 0) {
      ctx.out('No pending pairing requests.');
      return 0;
    }
    for (const line of requestTableLines(pending)) ctx.out(line);
    return 0;
  },
};
