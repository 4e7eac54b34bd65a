import { InputError } from '../errors.js';

/** A duration flag (`90`, `90s`, `5m`, `2h`; seconds without a unit) -> milliseconds, from 1 ms to 7 days. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InputError(`${flag}: expected a duration such as 30s, 5m or 2h, got "${value.slice(0, 40)}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(m[1]) * unit;
  if (ms <= 0 || ms > 7 * 86_400_000) throw new InputError(`${flag}: between 1 ms and 7 days`);
  return Math.round(ms);
}
