/**
 * Finished results, readable by taskId for taskTtlSeconds, only by the account that made them.
 * Every entry has the same TTL, so a Map's insertion order is also expiry order and the sweep
 * only ever looks at the front.
 */
import type { Solution } from '../solver/select-cells.js';

/** Where finished results wait for getTaskResult: this process's memory, the SQLite file (sqlite-results.ts), or Redis (redis-shared.ts). */
export interface TaskResults {
  put(taskId: string, accountId: number, solution: Solution): Promise<void>;
  /** The solution, or undefined when unknown, expired, or made by another account. */
  get(taskId: string, accountId: number): Promise<Solution | undefined>;
  delete(taskId: string): Promise<void>;
  ping(): Promise<void>;
  close?(): Promise<void>;
}

interface Entry {
  accountId: number;
  solution: Solution;
  expiresAt: number;
}

export class ResultStore implements TaskResults {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly ttlMs: number, private readonly maxEntries: number, private readonly now: () => number = () => Date.now()) {}

  async put(taskId: string, accountId: number, solution: Solution): Promise<void> {
    this.sweep();
    this.entries.set(taskId, { accountId, solution, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  async get(taskId: string, accountId: number): Promise<Solution | undefined> {
    const e = this.entries.get(taskId);
    if (!e || e.expiresAt <= this.now() || e.accountId !== accountId) return undefined;
    return e.solution;
  }

  async delete(taskId: string): Promise<void> {
    this.entries.delete(taskId);
  }

  async ping(): Promise<void> {}

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, e] of this.entries) {
      if (e.expiresAt > t) break;
      this.entries.delete(id);
    }
  }
}
