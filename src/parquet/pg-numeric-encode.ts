/**
 * The reverse of pg-numeric.ts: Decimal128 words or exact decimal text → PostgreSQL binary
 * numeric (int16 ndigits, int16 weight, uint16 sign, int16 dscale, base-10000 digits, where
 * value = Σ digit[i] × 10000^(weight − i)). The server normalises leading and trailing
 * zero digits, so only the layout has to be right.
 */
import { IntegrityError } from '../errors.js';

const SIGN_POSITIVE = 0x0000;
const SIGN_NEGATIVE = 0x4000;
const SIGN_NAN = 0xc000;
const SIGN_PLUS_INFINITY = 0xd000;
const SIGN_MINUS_INFINITY = 0xf000;
const TWO_32 = 4294967296;
const POW10 = [1, 10, 100, 1000];
/** Base-10000 digits of one value, least significant first; 128 bits need at most 10. */
const groups = new Uint16Array(16);

/** Bytes of a numeric with `ndigits` digits. */
export function numericSize(ndigits: number): number {
  return 8 + 2 * ndigits;
}

/**
 * Writes words[at..at+3] (128-bit two's complement, little-endian, value × 10^scale) as a
 * numeric with dscale = scale; returns the end position. `out` needs room for numericSize(12) (39 digits plus the scale padding).
 */
export function decimal128ToNumeric(words: Uint32Array, at: number, scale: number, out: DataView, pos: number): number {
  const w0 = words[at]!, w1 = words[at + 1]!, w2 = words[at + 2]!, w3 = words[at + 3]!;
  const negative = w3 >= 0x80000000;
  // Scale so the fraction fills whole base-10000 groups.
  const pad = (4 - (scale % 4)) % 4;
  // Fast path: |value| × 10^pad below 2^53, so doubles stay exact (prices, quantities).
  const small = negative ? w3 === 0xffffffff && w2 === 0xffffffff && w1 >= 0xffe00000 : w3 === 0 && w2 === 0 && w1 < 0x00200000;
  if (small) {
    const magnitude = (negative ? TWO_32 * (0xffffffff - w1) + (TWO_32 - w0) : w1 * TWO_32 + w0) * POW10[pad]!;
    if (magnitude <= Number.MAX_SAFE_INTEGER) return writeSafeInteger(out, pos, magnitude, (scale + pad) / 4, negative, scale);
  }
  return writeBigDecimal(words, at, negative, pad, scale, out, pos);
}

/** A magnitude below 2^53 (at most 4 base-10000 groups), written straight from the last group back. */
function writeSafeInteger(out: DataView, pos: number, magnitude: number, fractionGroups: number, negative: boolean, dscale: number): number {
  const count = magnitude === 0 ? 0 : magnitude < 1e4 ? 1 : magnitude < 1e8 ? 2 : magnitude < 1e12 ? 3 : 4;
  writeHeader(out, pos, count, fractionGroups, negative, dscale);
  for (let at = pos + 6 + 2 * count; magnitude > 0; at -= 2) {
    const high = Math.floor(magnitude / 10000);
    out.setUint16(at, magnitude - high * 10000);
    magnitude = high;
  }
  return pos + 8 + 2 * count;
}

function writeBigDecimal(words: Uint32Array, at: number, negative: boolean, pad: number, dscale: number, out: DataView, pos: number): number {
  let big = (BigInt(words[at + 3]!) << 96n) | (BigInt(words[at + 2]!) << 64n) | (BigInt(words[at + 1]!) << 32n) | BigInt(words[at]!);
  if (negative) big = (1n << 128n) - big;
  big *= BigInt(POW10[pad]!);
  let count = 0;
  while (big > 0n) {
    groups[count++] = Number(big % 10000n);
    big /= 10000n;
  }
  writeHeader(out, pos, count, (dscale + pad) / 4, negative, dscale);
  pos += 8;
  for (let i = count - 1; i >= 0; i--, pos += 2) out.setUint16(pos, groups[i]!);
  return pos;
}

function writeHeader(out: DataView, pos: number, count: number, fractionGroups: number, negative: boolean, dscale: number): void {
  out.setInt16(pos, count);
  out.setInt16(pos + 2, count === 0 ? 0 : count - 1 - fractionGroups);
  out.setUint16(pos + 4, negative && count > 0 ? SIGN_NEGATIVE : SIGN_POSITIVE);
  out.setInt16(pos + 6, dscale);
}

const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const SPECIAL: [string, number][] = [
  ['NaN', SIGN_NAN],
  ['Infinity', SIGN_PLUS_INFINITY],
  ['-Infinity', SIGN_MINUS_INFINITY],
];

/** Upper bound of numericSize for a text of `length` bytes. */
export function numericTextMaxSize(length: number): number {
  return numericSize(Math.ceil(length / 4) + 2);
}

/**
 * Parses PostgreSQL's numeric text output (`-123.4500`, `NaN`, `Infinity`) from
 * bytes[start..end) and writes it as a binary numeric keeping its dscale; returns the end.
 */
export function numericTextToNumeric(bytes: Uint8Array, start: number, end: number, out: DataView, pos: number): number {
  for (const [text, sign] of SPECIAL) {
    if (end - start === text.length && matches(bytes, start, text)) {
      out.setInt16(pos, 0);
      out.setInt16(pos + 2, 0);
      out.setUint16(pos + 4, sign);
      out.setInt16(pos + 6, 0);
      return pos + 8;
    }
  }
  let i = start;
  const negative = bytes[i] === MINUS;
  if (negative || bytes[i] === PLUS) i++;
  let dot = end;
  for (let j = i; j < end; j++) {
    const c = bytes[j]!;
    if (c === DOT && dot === end) dot = j;
    else if (c < ZERO || c > ZERO + 9) throw new IntegrityError(`"${new TextDecoder().decode(bytes.subarray(start, end)).slice(0, 40)}" is not a numeric value`);
  }
  if (dot === i && dot + 1 >= end) throw new IntegrityError('empty numeric value');
  const integerDigits = dot - i;
  const dscale = dot === end ? 0 : end - dot - 1;
  // Digit k (0-based from the first integer digit) sits in group floor((k + lead) / 4),
  // with `lead` zeros in front so the integer part fills whole groups.
  const lead = (4 - (integerDigits % 4)) % 4;
  const integerGroups = (integerDigits + lead) / 4;
  const count = integerGroups + Math.ceil(dscale / 4);
  out.setInt16(pos, count);
  out.setInt16(pos + 2, integerGroups - 1);
  out.setUint16(pos + 4, negative ? SIGN_NEGATIVE : SIGN_POSITIVE);
  out.setInt16(pos + 6, dscale);
  pos += 8;
  for (let g = 0; g < count; g++, pos += 2) {
    let value = 0;
    for (let d = 0; d < 4; d++) {
      const k = g * 4 + d - lead;
      const at = k < integerDigits ? i + k : dot + 1 + (k - integerDigits);
      const digit = k < 0 || at >= end ? 0 : bytes[at]! - ZERO;
      value = value * 10 + digit;
    }
    out.setUint16(pos, value);
  }
  return pos;
}

function matches(bytes: Uint8Array, start: number, text: string): boolean {
  for (let k = 0; k < text.length; k++) if (bytes[start + k] !== text.charCodeAt(k)) return false;
  return true;
}
