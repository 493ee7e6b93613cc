/**
 * Deeply nested JSON (issue 19, case 6): a 16 KB body can nest 5,000 arrays, and echoing such a
 * value (JSON.stringify in an error message, the logger) overflows the stack. No field of the
 * protocol nests more than a few levels, so a body deeper than MAX_DEPTH is refused as a field
 * error naming the field, before anything else reads it. The walk is iterative.
 */
import { ProtocolError } from './errors.js';

export const MAX_DEPTH = 32;

function pathOf(keys: (string | number)[]): string {
  return keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('').slice(0, 80) || 'the body';
}

/** Throws ERROR_REQUIRED_FIELDS naming the first field nested more than MAX_DEPTH levels deep. */
export function refuseDeepNesting(body: unknown): void {
  const stack: { value: unknown; keys: (string | number)[] }[] = [{ value: body, keys: [] }];
  while (stack.length > 0) {
    const { value, keys } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (keys.length > MAX_DEPTH) {
      const field = pathOf(keys.slice(0, 2));
      throw new ProtocolError('ERROR_REQUIRED_FIELDS', `${field} is nested more than ${MAX_DEPTH} levels deep; no field of the protocol nests like that (${field === 'task.grid' ? 'task.grid is "3x3", "4x4" or "1x1"' : 'send the value the field expects'})`);
    }
    if (Array.isArray(value)) value.forEach((v, i) => stack.push({ value: v, keys: [...keys, i] }));
    else for (const [k, v] of Object.entries(value)) stack.push({ value: v, keys: [...keys, k] });
  }
}
