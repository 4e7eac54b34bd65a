/**
 * Pure ready-signal rules (seed 000), shared by workflows and the CLI: which statuses a
 * signal can still leave, and get_websocket_handover_status: whether a pipeline run may hand
 * over to the WebSocket service. No I/O and no Node modules: the workflow bundle imports it.
 */

/** A signal in these statuses may still complete; it leaves completed, failed and expired never. */
export const OPEN_SIGNAL_STATUSES: readonly string[] = ['active', 'processing'];

export interface HandoverSignal {
  signal_id: string;
  /** Null for a dependency whose row is gone (deleted by retention). */
  signal_type: string | null;
  /** Null for a dependency whose row is gone. */
  status: string | null;
  completed_at: string | null;
}

export interface HandoverStatus {
  pipeline_run_id: string;
  ready: boolean;
  /** One line: why it is (not) ready. */
  reason: string;
  /** The run's newest WEBSOCKET_READY signal; null when it has none yet. */
  websocket: HandoverSignal | null;
  dependencies: HandoverSignal[];
}

/**
 * Ready when the WEBSOCKET_READY signal completed, or when it is still open (active or
 * processing) and every dependency completed: nothing blocks the handover any more. A failed
 * or expired WEBSOCKET_READY signal can no longer complete, so that handover is never ready.
 */
export function handoverStatus(pipelineRunId: string, websocket: HandoverSignal | null, dependencies: HandoverSignal[]): HandoverStatus {
  const status = (ready: boolean, reason: string): HandoverStatus => ({ pipeline_run_id: pipelineRunId, ready, reason, websocket, dependencies });
  if (!websocket) return status(false, 'no WEBSOCKET_READY signal for the run yet');
  if (websocket.status === 'completed') return status(true, 'WEBSOCKET_READY signal completed');
  if (!OPEN_SIGNAL_STATUSES.includes(websocket.status ?? '')) return status(false, `WEBSOCKET_READY signal is ${websocket.status}`);
  const waiting = dependencies.filter((d) => d.status !== 'completed');
  if (waiting.length > 0) {
    const named = waiting.map((d) => `${d.signal_type ?? 'signal'} ${d.signal_id} (${d.status ?? 'missing'})`).join(', ');
    return status(false, `waiting for ${waiting.length} of ${dependencies.length} dependencies: ${named}`);
  }
  return status(true, dependencies.length === 0 ? 'WEBSOCKET_READY signal has no dependencies' : `all ${dependencies.length} dependencies completed`);
}
