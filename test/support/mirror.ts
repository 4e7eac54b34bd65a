import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH } from '../../src/config/load.js';

export const SHIPPED_CONFIG = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');

/** The shipped config with `mirror` (YAML lines under storage.mirror) added to its storage section. */
export function withMirror(mirror: string, shipped = SHIPPED_CONFIG): string {
  const section = `  mirror:\n${mirror.trim().split('\n').map((line) => `    ${line}`).join('\n')}\n`;
  const text = shipped.replace(/^ {2}prefix: .*\n/m, (line) => `${line}${section}`);
  assert.notEqual(text, shipped);
  return text;
}
