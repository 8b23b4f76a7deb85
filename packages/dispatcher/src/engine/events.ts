/**
 * Dispatch lifecycle on `node:diagnostics_channel`, for metrics and tracing without the
 * engine knowing who listens. Publishing costs nothing when nobody subscribes.
 *
 *   ce:dispatch:start   { reqid, op, script?, hosts }
 *   ce:dispatch:host    { reqid, op, script?, host, target, ok, rttMs, code? }
 *   ce:dispatch:finish  { reqid, op, script?, hosts, failed, durationMs }
 */
import { channel } from 'node:diagnostics_channel';

export type DispatchOp = 'run' | 'run-async' | 'ping' | 'capabilities' | 'result';

export interface DispatchStartMessage {
  reqid: string;
  op: DispatchOp;
  script?: string;
  hosts: number;
}

export interface DispatchHostMessage {
  reqid: string;
  op: DispatchOp;
  script?: string;
  host: string;
  target: string;
  ok: boolean;
  rttMs: number;
  /** CtrlExecError code of a failure. */
  code?: string;
}

export interface DispatchFinishMessage {
  reqid: string;
  op: DispatchOp;
  script?: string;
  hosts: number;
  failed: number;
  durationMs: number;
}

export const DISPATCH_START_CHANNEL = 'ce:dispatch:start';
export const DISPATCH_HOST_CHANNEL = 'ce:dispatch:host';
export const DISPATCH_FINISH_CHANNEL = 'ce:dispatch:finish';

export const dispatchStartChannel = channel(DISPATCH_START_CHANNEL);
export const dispatchHostChannel = channel(DISPATCH_HOST_CHANNEL);
export const dispatchFinishChannel = channel(DISPATCH_FINISH_CHANNEL);

export function publishStart(message: DispatchStartMessage): void {
  if (dispatchStartChannel.hasSubscribers) dispatchStartChannel.publish(message);
}

export function publishHost(message: DispatchHostMessage): void {
  if (dispatchHostChannel.hasSubscribers) dispatchHostChannel.publish(message);
}

export function publishFinish(message: DispatchFinishMessage): void {
  if (dispatchFinishChannel.hasSubscribers) dispatchFinishChannel.publish(message);
}
