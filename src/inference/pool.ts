/** Main-thread side of the inference workers: one tensor batch per request, least-busy worker. */
import { Worker } from 'node:worker_threads';
import type { LoadedModel } from '../model/manifest.js';
import { ProtocolError } from '../protocol/errors.js';
import { disableOrtTelemetry, TELEMETRY_OFF } from './no-telemetry.js';
import type { InferReply, WorkerInit } from './worker.js';

interface Slot {
  worker: Worker;
  /** False from a worker's exit until its replacement is ready. */
  alive: boolean;
  pending: Map<number, { resolve: (r: InferenceResult) => void; reject: (e: Error) => void }>;
  /** The replacement being started after a worker died, if any. */
  spawning?: Promise<void>;
}

export interface InferenceResult {
  /** batch x classes, row-major. */
  scores: Float32Array;
  ms: number;
  /** For inferPicture: ms the worker spent cutting and resampling the picture. */
  cutMs?: number;
}

export class InferencePool {
  private nextId = 1;
  private closed = false;
  private closing?: Promise<void>;
  onBatch: (batch: number, ms: number) => void = () => {};

  private constructor(private readonly slots: Slot[], private readonly init: WorkerInit) {}

  private static spawn(init: WorkerInit): Promise<Worker> {
    return new Promise<Worker>((resolve, reject) => {
      disableOrtTelemetry();
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init, env: { ...process.env, ...TELEMETRY_OFF } });
      worker.once('error', reject);
      worker.once('message', () => resolve(worker));
    });
  }

  static async start(model: LoadedModel, workers: number, threads: number): Promise<InferencePool> {
    const { manifest } = model;
    const { name: inputName, size, mean, std } = manifest.input;
    const init: WorkerInit = { onnxPath: model.onnxPath, threads, inputName, outputName: manifest.output.name, size, mean, std };
    const slots = await Promise.all(Array.from({ length: workers }, async () => ({ worker: await InferencePool.spawn(init), alive: true, pending: new Map() })));
    const pool = new InferencePool(slots, init);
    for (const slot of slots) pool.listen(slot);
    return pool;
  }

  /** A worker that died takes its pending batches with it (rejected) and is replaced. */
  private revive(slot: Slot, err: Error): void {
    slot.alive = false;
    for (const w of slot.pending.values()) w.reject(err);
    slot.pending.clear();
    if (this.closed) return;
    slot.spawning = InferencePool.spawn(this.init).then((worker) => {
      slot.worker = worker;
      slot.alive = true;
      slot.spawning = undefined;
      this.listen(slot);
    }, () => {
      slot.spawning = undefined;
    });
  }

  private listen(slot: Slot): void {
    slot.worker.on('message', (reply: InferReply) => {
      const waiter = slot.pending.get(reply.id);
      if (!waiter) return;
      slot.pending.delete(reply.id);
      if ('error' in reply) waiter.reject(new Error(`inference failed: ${reply.error}`));
      else waiter.resolve({ scores: reply.scores, ms: reply.ms, ...(reply.cutMs === undefined ? {} : { cutMs: reply.cutMs }) });
    });
    const worker = slot.worker;
    worker.once('exit', (code) => {
      if (slot.worker === worker) this.revive(slot, new Error(`inference worker exited with code ${code}`));
    });
  }

  /** A ready tensor, batch x 3 x size x size; its buffer is transferred to the worker (the caller's array is emptied). */
  infer(input: Float32Array, batch: number): Promise<InferenceResult> {
    return this.send({ input, batch }, input.buffer as ArrayBuffer, batch);
  }

  /**
   * An RGB picture (side x side), cut into rows x rows tiles and resampled in the worker (sampleTiles with
   * the model's normalisation; `context` as there), so the event loop never spends the resampling time.
   * The bytes are copied first: the caller keeps its picture.
   */
  inferPicture(raw: Uint8Array, side: number, rows: number, context = 1): Promise<InferenceResult> {
    const copy = new Uint8Array(raw);
    return this.send({ cut: { raw: copy, side, rows, context } }, copy.buffer, rows * rows);
  }

  private async send(body: { input: Float32Array; batch: number } | { cut: { raw: Uint8Array; side: number; rows: number; context: number } }, transfer: ArrayBuffer, batch: number): Promise<InferenceResult> {
    if (this.closed) throw new ProtocolError('ERROR_SERVICE_UNAVALIABLE', 'the service is shutting down; retry on another node or in a moment');
    const live = this.slots.filter((s) => s.alive);
    if (live.length === 0) throw new ProtocolError('ERROR_SERVICE_UNAVALIABLE', 'the inference workers are restarting; retry in a moment');
    const slot = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    const result = await new Promise<InferenceResult>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, ...body }, [transfer]);
    });
    this.onBatch(batch, result.ms);
    return result;
  }

  /**
   * Each worker answers the batches already sent to it, releases its session and ends on its own;
   * one that has not ended in 5 s is terminated. A replacement still starting is closed once it is
   * up. Calling close() again returns the same promise.
   */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= Promise.all(this.slots.map(async (s) => {
      await s.spawning;
      if (!s.alive) return void (await s.worker.terminate());
      const ended = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
      s.worker.postMessage({ close: true });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), 5000); });
      if ((await Promise.race([ended, late])) === 'late') await s.worker.terminate();
      clearTimeout(timer);
    })).then(() => undefined);
    return this.closing;
  }
}
