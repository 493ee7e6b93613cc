/**
 * Strict numbers (issue 19, case 11): JavaScript's Number() reads "0x1", "0b1", "0o7", "1e3",
 * "Infinity" and " 1 " as numbers; the protocol and the CLI take plain decimals only.
 * Points (balances, prices, credits) are integers up to Number.MAX_SAFE_INTEGER (2^53 - 1): past
 * that a double cannot hold every integer, so a balance would silently lose points (case 8).
 */
export const MAX_POINTS = Number.MAX_SAFE_INTEGER;

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const WHOLE = /^\d+$/;

/** A plain decimal ("0.5", ".5", "1", "1.0"), or undefined for anything else (hex, binary, exponent, words). */
export function parseDecimal(text: string): number | undefined {
  return DECIMAL.test(text) ? Number(text) : undefined;
}

/** A whole number of points from 0 to MAX_POINTS written in decimal digits, or undefined. */
export function parsePoints(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n <= MAX_POINTS ? n : undefined;
}
