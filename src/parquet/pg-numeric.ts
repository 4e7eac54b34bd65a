/**
 * PostgreSQL binary numeric → Decimal128 words or exact decimal text, with no BigInt or
 * string per value. Wire format: int16 ndigits, int16 weight, uint16 sign, int16 dscale,
 * then ndigits base-10000 digits; value = Σ digit[i] × 10000^(weight − i).
 */

const SIGN_NEGATIVE = 0x4000;
const SIGN_NAN = 0xc000;
const SIGN_PLUS_INFINITY = 0xd000;
const SIGN_MINUS_INFINITY = 0xf000;
const TWO_32 = 4294967296;
/** Powers of ten exact in a double, up to the 15 digits the fast path allows. */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

export const enum DecimalStatus {
  Ok,
  NotFinite,
  /** More fractional digits than the scale, or too large for 128 bits: not a numeric(p,s) value. */
  DoesNotFit,
}

/** 128-bit magnitude as four base-2^32 limbs, least significant first; reused between calls. */
const limbs = new Float64Array(4);

/**
 * Writes value × 10^scale as a 128-bit two's complement integer, little-endian, into
 * out[at..at+3] (the Arrow Decimal128 layout).
 */
export function numericToDecimal128(view: DataView, offset: number, scale: number, out: Uint32Array, at: number): DecimalStatus {
  const ndigits = view.getInt16(offset);
  const weight = view.getInt16(offset + 2);
  const sign = view.getUint16(offset + 4);
  if (sign === SIGN_NAN || sign === SIGN_PLUS_INFINITY || sign === SIGN_MINUS_INFINITY) return DecimalStatus.NotFinite;
  // Power of ten of the last digit once scaled; negative means it carries digits below the scale.
  const lastExponent = 4 * (weight - ndigits + 1) + scale;
  const digits = offset + 8;

  // Fast path: at most 15 significant digits once scaled, so every step is exact in a double.
  if (lastExponent >= -3 && 4 * ndigits + Math.max(lastExponent, 0) <= 15) {
    let value = 0;
    for (let i = 0; i < ndigits; i++) value = value * 10000 + view.getUint16(digits + 2 * i);
    if (lastExponent >= 0) {
      value *= POW10[lastExponent];
    } else {
      const divisor = POW10[-lastExponent];
      if (value % divisor !== 0) return DecimalStatus.DoesNotFit;
      value /= divisor;
    }
    // Division, not %: a double modulo is a slow fmod call in V8.
    const high = Math.floor(value / TWO_32);
    const low = value - high * TWO_32;
    if (sign === SIGN_NEGATIVE && value !== 0) {
      // Two's complement of a magnitude below 2^53: borrow runs through the upper words.
      out[at] = low === 0 ? 0 : TWO_32 - low;
      out[at + 1] = low === 0 ? TWO_32 - high : 0xffffffff - high;
      out[at + 2] = 0xffffffff;
      out[at + 3] = 0xffffffff;
    } else {
      out[at] = low;
      out[at + 1] = high;
      out[at + 2] = 0;
      out[at + 3] = 0;
    }
    return DecimalStatus.Ok;
  }

  // Digits of the last group below the scale are trimmed as it is added, before they
  // could push an in-range value past 128 bits.
  const trim = lastExponent < 0 ? -lastExponent : 0;
  if (trim > 3) return DecimalStatus.DoesNotFit;
  limbs.fill(0);
  for (let i = 0; i < ndigits; i++) {
    let digit = view.getUint16(digits + 2 * i);
    let factor = 10000;
    if (trim > 0 && i === ndigits - 1) {
      if (digit % POW10[trim] !== 0) return DecimalStatus.DoesNotFit;
      digit /= POW10[trim];
      factor = POW10[4 - trim];
    }
    if (!multiplyAdd(factor, digit)) return DecimalStatus.DoesNotFit;
  }
  let exponent = Math.max(lastExponent, 0);
  for (; exponent >= 4; exponent -= 4) if (!multiplyAdd(10000, 0)) return DecimalStatus.DoesNotFit;
  if (exponent > 0 && !multiplyAdd(POW10[exponent], 0)) return DecimalStatus.DoesNotFit;
  if (limbs[3] >= 0x80000000) return DecimalStatus.DoesNotFit;
  if (sign === SIGN_NEGATIVE) {
    let carry = 1;
    for (let i = 0; i < 4; i++) {
      const word = 0xffffffff - limbs[i] + carry;
      carry = word === TWO_32 ? 1 : 0;
      out[at + i] = word;
    }
  } else {
    for (let i = 0; i < 4; i++) out[at + i] = limbs[i];
  }
  return DecimalStatus.Ok;
}

/** limbs = limbs × factor + addend; false on overflow past 128 bits. Products stay below 2^53. */
function multiplyAdd(factor: number, addend: number): boolean {
  let carry = addend;
  for (let i = 0; i < 4; i++) {
    const product = limbs[i] * factor + carry;
    carry = Math.floor(product / TWO_32);
    limbs[i] = product - carry * TWO_32;
  }
  return carry === 0;
}

const NAN_TEXT = [0x4e, 0x61, 0x4e]; // NaN
const INFINITY_TEXT = [0x49, 0x6e, 0x66, 0x69, 0x6e, 0x69, 0x74, 0x79]; // Infinity
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;

/** Length of the text numericToText writes, so the caller can reserve room first. */
export function numericTextLength(view: DataView, offset: number): number {
  const ndigits = view.getInt16(offset);
  const weight = view.getInt16(offset + 2);
  const sign = view.getUint16(offset + 4);
  const dscale = view.getInt16(offset + 6);
  if (sign === SIGN_NAN) return NAN_TEXT.length;
  if (sign === SIGN_PLUS_INFINITY) return INFINITY_TEXT.length;
  if (sign === SIGN_MINUS_INFINITY) return INFINITY_TEXT.length + 1;
  const integerDigits = weight < 0 || ndigits === 0 ? 1 : digitCount(view.getUint16(offset + 8)) + 4 * weight;
  return (sign === SIGN_NEGATIVE ? 1 : 0) + integerDigits + (dscale > 0 ? 1 + dscale : 0);
}

/** Writes the numeric as PostgreSQL prints it (dscale fractional digits); returns the end position. */
export function numericToText(view: DataView, offset: number, out: Uint8Array, at: number): number {
  const ndigits = view.getInt16(offset);
  const weight = view.getInt16(offset + 2);
  const sign = view.getUint16(offset + 4);
  const dscale = view.getInt16(offset + 6);
  if (sign === SIGN_NAN) return writeAscii(NAN_TEXT, out, at);
  if (sign === SIGN_MINUS_INFINITY) out[at++] = MINUS;
  if (sign === SIGN_PLUS_INFINITY || sign === SIGN_MINUS_INFINITY) return writeAscii(INFINITY_TEXT, out, at);
  if (sign === SIGN_NEGATIVE) out[at++] = MINUS;
  const digits = offset + 8;
  const digit = (i: number): number => (i >= 0 && i < ndigits ? view.getUint16(digits + 2 * i) : 0);
  if (weight < 0 || ndigits === 0) {
    out[at++] = ZERO;
  } else {
    const first = digit(0);
    for (let d = digitCount(first) - 1; d >= 0; d--) out[at++] = ZERO + (Math.floor(first / POW10[d]) % 10);
    for (let i = 1; i <= weight; i++) at = writeGroup(digit(i), 4, out, at);
  }
  if (dscale > 0) {
    out[at++] = DOT;
    // Fractional groups start at index weight + 1; the last one may be cut short by dscale.
    for (let written = 0, i = weight + 1; written < dscale; i++, written += 4) {
      at = writeGroup(digit(i), Math.min(4, dscale - written), out, at);
    }
  }
  return at;
}

/** Writes the first `count` of the four decimal digits of a base-10000 group. */
function writeGroup(group: number, count: number, out: Uint8Array, at: number): number {
  for (let d = 3; d > 3 - count; d--) out[at++] = ZERO + (Math.floor(group / POW10[d]) % 10);
  return at;
}

function digitCount(group: number): number {
  return group >= 1000 ? 4 : group >= 100 ? 3 : group >= 10 ? 2 : 1;
}

function writeAscii(text: readonly number[], out: Uint8Array, at: number): number {
  for (const code of text) out[at++] = code;
  return at;
}
