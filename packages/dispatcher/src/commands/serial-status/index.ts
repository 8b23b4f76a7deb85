import type { CommandSpec } from '../../cli/command.js';
import { row } from '../../cli/format.js';
import { registryOf } from '../../cli/state.js';
import { loadRotationState } from '../../rotation/lifecycle.js';

const WIDTHS = [30, 10, 22];

function shortSerial(serial: string): string {
  return serial.length > 16 ? `${serial.slice(0, 16)}...` : serial;
}

/** Feature 60: the rotation state and each agent's serial status. */
export const serialStatusCommand: CommandSpec = {
  name: 'serial-status',
  summary: 'show the dispatcher rotation state and which agents confirmed the current serial',
  configure() {},
  async run(ctx) {
    const config = ctx.config();
    const registry = registryOf(config);
    const state = loadRotationState({ config, registry, audit: (e) => ctx.log(e) });
    const agents = registry.names().flatMap((name) => {
      const r = registry.get(name);
      return r ? [{ hostname: r.hostname, serial_status: r.serial_status, serial_confirmed: r.serial_confirmed, dispatcher_serial: r.dispatcher_serial }] : [];
    });
    if (ctx.json) {
      ctx.printJson({ state: state ?? null, agents });
      return 0;
    }
    if (state) {
      ctx.out(`Current serial:  ${state.current_serial}`);
      if (state.previous_serial) ctx.out(`Previous serial: ${state.previous_serial}`);
      ctx.out(`Rotated at:      ${state.rotated_at}`);
      if (state.previous_serial) ctx.out(`Overlap expires: ${state.overlap_expires}`);
      else if (state.previous_retired) ctx.out(`Previous serial retired: ${state.previous_retired}`);
    } else {
      ctx.out('No rotation has been performed.');
    }
    ctx.out('');
    ctx.out(row(['HOSTNAME', 'STATUS', 'CONFIRMED', 'SERIAL'], WIDTHS));
    ctx.out('-'.repeat(85));
    for (const a of agents) ctx.out(row([a.hostname, a.serial_status, a.serial_confirmed || '-', shortSerial(a.dispatcher_serial) || '-'], WIDTHS));
    return 0;
  },
};
