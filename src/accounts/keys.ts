import { createHash, randomBytes } from 'node:crypto';

/** 32 hex characters, like the vendors' keys; 128 bits of randomness. */
export function newClientKey(): string {
  return randomBytes(16).toString('hex');
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
