import { findReadySignal, type ReadySignal, type SignalType } from '../../quality/signals.js';
import type { ActivityDeps } from '../deps.js';

export function signalActivities({ pool }: ActivityDeps) {
  return {
    async findReadySignalRow(type: SignalType): Promise<ReadySignal | null> {
      return findReadySignal(pool, type);
    },
  };
}
