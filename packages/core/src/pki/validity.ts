import { CtrlExecError } from '../errors.js';

export const MAX_DAYS = 36500;

/** Throws CE_ERR_CONFIG_VALUE unless days is an integer from 1 to MAX_DAYS. */
export function checkDays(days: unknown): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new CtrlExecError('CE_ERR_CONFIG_VALUE', `certificate validity must be a whole number of days from 1 to ${MAX_DAYS} (got ${String(days)})`, {
      details: { days },
    });
  }
  return days;
}
