import { PairingQueue, Registry, type DispatcherConfig } from '@ctrl-exec/core';

export function registryOf(config: DispatcherConfig): Registry {
  return new Registry(config.paths.registryDir);
}

export function pairingQueueOf(config: DispatcherConfig): PairingQueue {
  return new PairingQueue(config.paths.pairingDir);
}
