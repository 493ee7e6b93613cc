/**
 * Finished results, readable by taskId for taskTtlSeconds, only by the account that made them.
 * Every entry has the same TTL, so a Map's insertion order is also expiry order and the sweep
 * only ever looks at the front. Beside each result the task's picture and question are kept for
 * as long, so that a report (feedbackTask) can store them as a label; pictures have their own
 * byte budget, and the oldest pictures are dropped first (the results stay).
 */
import type { GridKind } from '../imaging/grid.js';
import type { Solution } from '../solver/select-cells.js';

/** What a report needs to become a label: the picture as sent, its kind, the question and the class it meant. */
export interface TaskContext {
  kind: GridKind;
  questionId: string;
  className: string;
  /** The picture's bytes as the client sent them (JPEG, PNG, ...); absent once dropped for memory. */
  picture?: Buffer;
}

export interface StoredTask {
  solution: Solution;
  context?: TaskContext;
}

/** Where finished results wait for getTaskResult: this process's memory, the SQLite file (sqlite-results.ts), or Redis (redis-shared.ts). */
export interface TaskResults {
  put(taskId: string, accountId: number, solution: Solution, context?: TaskContext): Promise<void>;
  /** The solution, or undefined when unknown, expired, or made by another account. */
  get(taskId: string, accountId: number): Promise<Solution | undefined>;
  /** The solution with its picture and question, on the same terms as get. */
  task(taskId: string, accountId: number): Promise<StoredTask | undefined>;
  delete(taskId: string): Promise<void>;
  ping(): Promise<void>;
  close?(): Promise<void>;
}

interface Entry extends StoredTask {
  accountId: number;
  expiresAt: number;
}

export class ResultStore implements TaskResults {
  private readonly entries = new Map<string, Entry>();
  /** Task ids whose entry still holds a picture, oldest first, and their bytes in all. */
  private readonly pictures = new Map<string, number>();
  private pictureBytes = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = () => Date.now(),
    private readonly maxPictureBytes = 256 * 1024 * 1024,
  ) {}

  async put(taskId: string, accountId: number, solution: Solution, context?: TaskContext): Promise<void> {
    this.sweep();
    this.entries.set(taskId, { accountId, solution, context, expiresAt: this.now() + this.ttlMs });
    const bytes = context?.picture?.length ?? 0;
    if (bytes > 0) {
      this.pictures.set(taskId, bytes);
      this.pictureBytes += bytes;
    }
    while (this.entries.size > this.maxEntries) this.remove(this.entries.keys().next().value!);
    while (this.pictureBytes > this.maxPictureBytes) this.dropPicture(this.pictures.keys().next().value!);
  }

  async get(taskId: string, accountId: number): Promise<Solution | undefined> {
    return (await this.task(taskId, accountId))?.solution;
  }

  async task(taskId: string, accountId: number): Promise<StoredTask | undefined> {
    const e = this.entries.get(taskId);
    if (!e || e.expiresAt <= this.now() || e.accountId !== accountId) return undefined;
    return { solution: e.solution, context: e.context };
  }

  async delete(taskId: string): Promise<void> {
    this.remove(taskId);
  }

  async ping(): Promise<void> {}

  get size(): number {
    return this.entries.size;
  }

  /** Bytes of pictures held. */
  get heldPictureBytes(): number {
    return this.pictureBytes;
  }

  private remove(taskId: string): void {
    this.dropPicture(taskId);
    this.entries.delete(taskId);
  }

  private dropPicture(taskId: string): void {
    const bytes = this.pictures.get(taskId);
    if (bytes === undefined) return;
    this.pictures.delete(taskId);
    this.pictureBytes -= bytes;
    const e = this.entries.get(taskId);
    if (e?.context) e.context = { ...e.context, picture: undefined };
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, e] of this.entries) {
      if (e.expiresAt > t) break;
      this.remove(id);
    }
  }
}
