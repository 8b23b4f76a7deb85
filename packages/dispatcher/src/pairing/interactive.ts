/**
 * The operator's prompt while `pairing-mode` runs on a terminal (features item 29):
 * one pending request → `Accept, Deny, or Skip? [a/d/s]:`; several → a numbered queue
 * answered with a1 / d2 / list / quit.
 */
import { createInterface, type Interface } from 'node:readline';
import type { PairingRequest } from '@ctrl-exec/core';

export interface PromptActions {
  pending(): PairingRequest[];
  approve(id: string): string[];
  deny(id: string): string[];
  quit(): void;
}

export const UNKNOWN_COMMAND_HINT = 'Commands: a/d/s/list/quit or a1/d1 for multiple.';

export function describeRequest(r: PairingRequest): string[] {
  const rdns = r.reverse_dns ? `${r.reverse_dns} (${r.reverse_confirmed ? 'forward-confirmed' : 'not confirmed'})` : 'none';
  return [
    'Pairing request:',
    `  Hostname:    ${r.hostname}`,
    `  IP:          ${r.ip}${r.ip !== r.source_ip ? ` (connection from ${r.source_ip})` : ''}`,
    `  ID:          ${r.id}`,
    `  Code:        ${r.code}`,
    `  Received:    ${r.received}`,
    `  Reverse DNS: ${rdns}`,
    'Check that the agent shows the same code before accepting.',
  ];
}

export class PairingPrompt {
  readonly #rl: Interface;
  readonly #out: NodeJS.WritableStream;
  readonly #actions: PromptActions;
  /** The list the operator last saw, so a1/d2 refer to what was on screen. */
  #shown: PairingRequest[] = [];

  constructor(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, actions: PromptActions) {
    this.#out = output;
    this.#actions = actions;
    this.#rl = createInterface({ input, terminal: false });
    this.#rl.on('line', (line) => this.#handle(line.trim()));
    this.#rl.on('close', () => undefined);
  }

  #print(lines: string[]): void {
    for (const l of lines) this.#out.write(`${l}\n`);
  }

  /** Show the current queue and the matching prompt. */
  show(): void {
    const pending = this.#actions.pending();
    this.#shown = pending;
    if (pending.length === 0) {
      this.#print(['No pending pairing requests. Waiting for agents...']);
      return;
    }
    if (pending.length === 1) {
      this.#print(describeRequest(pending[0]!));
      this.#out.write('Accept, Deny, or Skip? [a/d/s]: ');
      return;
    }
    this.#print([`${pending.length} pending pairing requests:`]);
    pending.forEach((r, i) => {
      this.#print([`  ${i + 1}) ${r.hostname}  ${r.ip}  code ${r.code}  id ${r.id}  received ${r.received}`]);
    });
    this.#out.write('Approve with a<N>, deny with d<N>, list, or quit: ');
  }

  #handle(input: string): void {
    if (input === '') return;
    const cmd = input.toLowerCase();
    if (cmd === 'quit' || cmd === 'q') {
      this.#actions.quit();
      return;
    }
    if (cmd === 'list' || cmd === 'l') {
      this.show();
      return;
    }
    const shown = this.#shown;
    let m: RegExpExecArray | null;
    if ((cmd === 'a' || cmd === 'd' || cmd === 's' || cmd === 'skip') && shown.length === 1) {
      const target = shown[0]!;
      if (cmd === 's' || cmd === 'skip') {
        this.#print([`Skipped '${target.hostname}' (${target.id}); it stays pending.`]);
        return;
      }
      this.#act(cmd, target);
      return;
    }
    if ((m = /^([ad])\s*(\d+)$/.exec(cmd))) {
      const target = shown[Number(m[2]) - 1];
      if (!target) {
        this.#print([`No request number ${m[2]}. ${UNKNOWN_COMMAND_HINT}`]);
        return;
      }
      this.#act(m[1] as 'a' | 'd', target);
      return;
    }
    this.#print([`Unknown command '${input}'. ${UNKNOWN_COMMAND_HINT}`]);
  }

  #act(cmd: 'a' | 'd', target: PairingRequest): void {
    try {
      this.#print(cmd === 'a' ? this.#actions.approve(target.id) : this.#actions.deny(target.id));
    } catch (err) {
      this.#print([`Error: ${err instanceof Error ? err.message : String(err)}`]);
    }
    if (this.#actions.pending().length > 0) this.show();
  }

  close(): void {
    this.#rl.close();
  }
}
