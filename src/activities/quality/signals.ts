import { expireSignals, findReadySignal, getSignal, type ReadySignal, type SignalType } from '../../quality/signals.js';
import type { ActivityDeps } from '../deps.js';

export function signalActivities({ pool }: ActivityDeps) {
  return {
    async findReadySignalRow(type: SignalType): Promise<ReadySignal | null> {
      return findReadySignal(pool, type);
    },
    /** The signal as it is now (overdue signals expired first); null when there is no such row. */
    async readySignalRow(signalId: string): Promise<ReadySignal | null> {
      await expireSignals(pool);
      return getSignal(pool, signalId);
    },
  };
}
