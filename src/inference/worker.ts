/**
 * The one file of the service that imports onnxruntime-node (the offline calibration tool
 * activation-ranges.ts is the other). Each worker thread owns one session: ort's run() blocks its
 * thread, so it must never run on the event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { disableOrtTelemetry } from './no-telemetry.js';
import { sampleTiles } from '../imaging/sample-tiles.js';

// Before onnxruntime loads (a static import would run first): no telemetry look-ups (no-telemetry.ts).
disableOrtTelemetry();
const ort = await import('onnxruntime-node');

export interface WorkerInit {
  onnxPath: string;
  threads: number;
  inputName: string;
  outputName: string;
  size: number;
  /** The model's input normalisation (manifest.input): a picture sent raw is cut and resampled here. */
  mean: readonly number[];
  std: readonly number[];
}

/** A ready input tensor (batch x 3 x size x size). */
export interface InferRequest {
  id: number;
  input: Float32Array;
  batch: number;
}

/**
 * An RGB picture (side x side, row-major) to cut into rows x rows tiles and resample here, off the
 * event loop (sampleTiles): a 300 px 3x3 travels as 270 kB of bytes instead of a 1.8 MB tensor.
 */
export interface CutRequest {
  id: number;
  cut: { raw: Uint8Array; side: number; rows: number; context: number };
}

export type InferReply = { id: number; scores: Float32Array; ms: number; cutMs?: number } | { id: number; error: string };

const init = workerData as WorkerInit;
const session = await ort.InferenceSession.create(init.onnxPath, {
  intraOpNumThreads: init.threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
parentPort!.postMessage({ ready: true });

// One message at a time: session.run() may yield to the event loop, and a close must wait for
// every batch queued before it.
let queue: Promise<void> = Promise.resolve();
let closed = false;
// The input tensor of the last cut, reused by the next one of the same shape (messages are handled
// one at a time, and session.run() is done with its input before the next starts).
let cutInput: Float32Array | undefined;
parentPort!.on('message', (req: InferRequest | CutRequest | { close: true }) => {
  queue = queue.then(() => handle(req)).catch((err: unknown) => {
    // handle() answers inference errors itself; this is a failed release or reply: say so and go on
    console.error(`inference worker: ${(err as Error).message}`);
  });
});

async function handle(req: InferRequest | CutRequest | { close: true }): Promise<void> {
  if ('close' in req) {
    if (closed) return;
    closed = true;
    // Asked to stop: release the session here, on its own thread, then let the thread end.
    // worker.terminate() on a thread that has run sessions can abort the whole process from
    // inside onnxruntime-node's native teardown ("terminate called after throwing Napi::Error").
    await session.release();
    parentPort!.close();
    return;
  }
  const cutStarted = performance.now();
  try {
    const { input, batch } = 'cut' in req
      ? { input: (cutInput = sampleTiles(req.cut.raw, req.cut.side, req.cut.rows, init, req.cut.context, cutInput)), batch: req.cut.rows * req.cut.rows }
      : req;
    const started = performance.now();
    const tensor = new ort.Tensor('float32', input, [batch, 3, init.size, init.size]);
    const result = await session.run({ [init.inputName]: tensor });
    const scores = Float32Array.from(result[init.outputName]!.data as Float32Array);
    const reply: InferReply = { id: req.id, scores, ms: performance.now() - started, ...('cut' in req ? { cutMs: started - cutStarted } : {}) };
    parentPort!.postMessage(reply, [scores.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: (err as Error).message } satisfies InferReply);
  }
}
