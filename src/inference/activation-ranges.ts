/**
 * Activation ranges for int8 calibration (training/quantize.py calls this; onnxruntime's Python
 * quantiser is not installable here, so the graph runs in the same runtime that serves it).
 *
 *   node dist/src/inference/activation-ranges.js AUGMENTED.onnx INPUTS.f32 N,C,H,W BATCH > ranges.json
 *
 * AUGMENTED.onnx is the float model with every tensor to calibrate added as a graph output;
 * INPUTS.f32 holds N preprocessed inputs (float32, little-endian, NCHW). Prints, per output
 * tensor, its min and max and the 0.01% / 99.99% quantiles of a uniform sample of its values,
 * so the quantiser can clip rare outliers instead of stretching the int8 grid over them.
 */
import { readFileSync } from 'node:fs';
import { disableOrtTelemetry } from './no-telemetry.js';

// The service's sessions live in worker.ts; this offline tool is the only other file that loads
// onnxruntime-node, and it too does so only after telemetry is off (no-telemetry.ts).
disableOrtTelemetry();
const ort = (await import('onnxruntime-node')).default;

const SAMPLE_PER_BATCH = 8192;

export interface TensorRange { min: number; max: number; lo: number; hi: number }

/** A fixed-stride sample of a tensor's values (deterministic, spread over the whole tensor). */
function sample(values: Float32Array, into: number[]): void {
  const step = Math.max(1, Math.floor(values.length / SAMPLE_PER_BATCH));
  for (let i = 0; i < values.length; i += step) into.push(values[i]!);
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

export async function activationRanges(model: string, inputs: Float32Array, shape: number[], batch: number): Promise<Record<string, TensorRange>> {
  const [n, c, h, w] = shape as [number, number, number, number];
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, graphOptimizationLevel: 'disabled' });
  const stats = new Map<string, { min: number; max: number; values: number[] }>();
  const per = c * h * w;
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const feed = new ort.Tensor('float32', inputs.subarray(start * per, (start + b) * per), [b, c, h, w]);
    const out = await session.run({ [session.inputNames[0]!]: feed });
    for (const [name, tensor] of Object.entries(out)) {
      if (tensor.type !== 'float32') continue;
      const v = tensor.data as Float32Array;
      const s = stats.get(name) ?? { min: Infinity, max: -Infinity, values: [] };
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!;
        if (x < s.min) s.min = x;
        if (x > s.max) s.max = x;
      }
      sample(v, s.values);
      stats.set(name, s);
    }
    process.stderr.write(`calibration: ${start + b}/${n} inputs\r`);
  }
  process.stderr.write('\n');
  const result: Record<string, TensorRange> = {};
  for (const [name, s] of stats) {
    const sorted = Float64Array.from(s.values).sort();
    result[name] = { min: s.min, max: s.max, lo: quantile(sorted, 1e-4), hi: quantile(sorted, 1 - 1e-4) };
  }
  return result;
}

async function main(): Promise<void> {
  const [model, inputPath, shapeText, batchText] = process.argv.slice(2);
  if (!model || !inputPath || !shapeText) {
    console.error('usage: node dist/src/inference/activation-ranges.js AUGMENTED.onnx INPUTS.f32 N,C,H,W [BATCH]');
    process.exit(2);
  }
  const shape = shapeText.split(',').map(Number);
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    console.error(`shape must be four positive integers N,C,H,W, got ${shapeText}`);
    process.exit(2);
  }
  const bytes = readFileSync(inputPath);
  const inputs = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (inputs.length !== shape.reduce((a, b) => a * b, 1)) {
    console.error(`${inputPath} holds ${inputs.length} floats, but ${shapeText} needs ${shape.reduce((a, b) => a * b, 1)}`);
    process.exit(2);
  }
  const ranges = await activationRanges(model, inputs, shape, Number(batchText ?? 9));
  process.stdout.write(JSON.stringify(ranges));
}

if (process.argv[1]?.endsWith('activation-ranges.js')) await main();
