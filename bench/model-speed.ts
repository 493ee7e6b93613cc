/**
 * `node dist/bench/model-speed.js DIR [DIR…] [--runs N] [--threads T]`: one model's forward time in
 * onnxruntime-node, alone, in the service's own worker (src/inference/pool.ts): the median of N
 * batches of nine (one 3x3: nine tiles for a tile model, or one picture for a 4x4 picture model,
 * which sees the whole picture once), and tiles/s on two workers with batches of nine. Every
 * model is measured in the same run, so the figures compare even on a day the machine is slow.
 */
import { parseArgs } from 'node:util';
import { InferencePool } from '../src/inference/pool.js';
import { loadModel } from '../src/model/manifest.js';

export interface SpeedRow { model: string; size: number; unit: string; ms: number; perSecond: number }

export async function measure(dir: string, runs: number, threads: number): Promise<SpeedRow> {
  const model = loadModel(dir);
  const { size, unit = 'tile' } = model.manifest.input;
  const batch = unit === 'picture' ? 1 : 9;
  const input = new Float32Array(batch * 3 * size * size).fill(100);
  const one = await InferencePool.start(model, 1, threads);
  const times: number[] = [];
  try {
    for (let i = 0; i < 5; i++) await one.infer(input.slice(), batch); // warm-up
    for (let i = 0; i < runs; i++) times.push((await one.infer(input.slice(), batch)).ms);
  } finally {
    await one.close();
  }
  times.sort((a, b) => a - b);
  const two = await InferencePool.start(model, 2, 1);
  let done = 0;
  const t0 = performance.now();
  try {
    const until = t0 + 3000;
    await Promise.all([0, 1].map(async () => {
      while (performance.now() < until) {
        await two.infer(input.slice(), batch);
        done += batch;
      }
    }));
  } finally {
    await two.close();
  }
  return { model: `${model.manifest.name}@${model.manifest.version}`, size, unit, ms: times[Math.floor(times.length / 2)]!, perSecond: done / ((performance.now() - t0) / 1000) };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '50' }, threads: { type: 'string', default: '1' }, help: { type: 'boolean', short: 'h' } } });
  const usage = 'usage: node dist/bench/model-speed.js MODEL_DIR [MODEL_DIR…] [--runs 50] [--threads 1]\n' +
    '  each model folder (model.json + its ONNX file) is timed in the same run: the median of --runs batches of nine\n' +
    '  (one picture for a 4x4 picture model) on one worker with --threads intra-op threads, then tiles/s on two workers';
  if (values.help) {
    console.log(usage);
    return;
  }
  if (positionals.length === 0) {
    console.error(usage);
    process.exit(2);
  }
  for (const dir of positionals) {
    const r = await measure(dir, Number(values.runs), Number(values.threads));
    const what = r.unit === 'picture' ? 'one picture' : 'a batch of nine';
    console.log(`${dir}: ${r.model}, ${r.size} px: ${what} ${r.ms.toFixed(2)} ms (median of ${values.runs}, ${values.threads} thread); ` +
      `${r.perSecond.toFixed(0)} ${r.unit === 'picture' ? 'pictures' : 'tiles'}/s on 2 workers`);
  }
}

if (process.argv[1]?.endsWith('model-speed.js')) await main();
