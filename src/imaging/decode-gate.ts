/**
 * Bounds pixel decoding (issue 19, case 3): at most `perProcess` large pictures decode at once,
 * at most `perKey` of them for one key, and a key's queued decodes never hold back another key's
 * (the queue is scanned for the first entry whose key is under its bound). Small pictures (up to
 * the largest native challenge, 450x450) are cheap and skip the gate, so a flood of large ones
 * cannot delay them.
 */
interface Waiter {
  key: number;
  grant: () => void;
}

export class DecodeGate {
  private active = 0;
  private readonly byKey = new Map<number, number>();
  private readonly queue: Waiter[] = [];
  /** Most decodes seen running at once, overall and for any one key (tests, metrics). */
  peak = 0;
  peakPerKey = 0;

  constructor(private readonly perProcess: number, private readonly perKey: number) {}

  get running(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Wait for a slot for `key`; the returned function gives it back (idempotent). */
  acquire(key: number): Promise<() => void> {
    return new Promise((resolve) => {
      this.queue.push({ key, grant: () => resolve(this.releaser(key)) });
      this.pump();
    });
  }

  private releaser(key: number): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active -= 1;
      const n = (this.byKey.get(key) ?? 1) - 1;
      if (n === 0) this.byKey.delete(key);
      else this.byKey.set(key, n);
      this.pump();
    };
  }

  private pump(): void {
    for (let i = 0; i < this.queue.length && this.active < this.perProcess;) {
      const w = this.queue[i]!;
      const n = this.byKey.get(w.key) ?? 0;
      if (n >= this.perKey) {
        i += 1;
        continue;
      }
      this.queue.splice(i, 1);
      this.active += 1;
      this.byKey.set(w.key, n + 1);
      this.peak = Math.max(this.peak, this.active);
      this.peakPerKey = Math.max(this.peakPerKey, n + 1);
      w.grant();
    }
  }
}
