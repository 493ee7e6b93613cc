/**
 * Keeps the training pipeline alive: one entry point per step (training/train.py, export.py,
 * model_card.py) with the model kind as a flag. A tiny tile run (a few hundred tiles, one epoch) with
 * Debian's PyTorch and a few steps of the grid4-scratch picture model on top of it; tiny fine-tunes
 * from the COCO-pretrained weights of a tile model and of the shipped 4x4 kind (grid4: the detector's
 * head, a few steps on a handful of pictures); each exported, then loaded and run by the service's own
 * code. Skipped, with the reason, where /usr/bin/python3 has no torch (.ci/run installs it) or
 * ../shared lacks the weights or data.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT, loadConfig } from './config.js';
import { startSolver } from './app.js';
import { QUESTIONS } from './protocol/questions.js';
import { FIXTURE_MODEL } from './testing/service.js';

const PY = '/usr/bin/python3';
const PRETRAINED = path.join(PROJECT_ROOT, '..', 'shared', 'pretrained', 'coco-mobilenetv3-centernet', 'centernet.bin');
const GRID4_DATA = path.join(PROJECT_ROOT, '..', 'shared', 'data', 'grid4-v1', 'grid4-train.tar');
const KINDS = ['tiles', 'grid4', 'grid4-scratch'];
const STEPS = ['train.py', 'export.py', 'parity.py', 'model_card.py'];
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch, torchvision, onnx'], { stdio: 'ignore' }).status === 0;

/** The service's solver on these models answers a blank picture of this kind with one score per cell. */
async function answersWith(dirs: { modelDir: string; modelDir4x4: string }, kind: '3x3' | '4x4', question: string, unit?: 'picture'): Promise<void> {
  const solver = await startSolver(loadConfig({ ...dirs, inferenceWorkers: 1 }, {}));
  try {
    assert.equal(solver.modelFor(kind).model.manifest.input.unit, unit);
    const side = kind === '3x3' ? 300 : 450;
    const rows = kind === '3x3' ? 3 : 4;
    const { solution, scores } = await solver.solve({ kind, raw: Buffer.alloc(side * side * 3, 90), side, rows }, QUESTIONS.find((q) => q.id === question)!);
    assert.equal(scores.length, rows * rows);
    assert.ok(scores.every((v) => v >= 0 && v <= 1));
    assert.equal(solution.type, 'multi');
  } finally {
    await Promise.all(solver.models().map((m) => m.pool.close()));
  }
}

it('trains a tiny tile model (--kind tiles) and a tiny grid4-scratch model from it, exports both, and the service answers with them', { skip: !hasTorch && `${PY} lacks torch/torchvision/onnx (apt-get install python3-torch python3-torchvision python3-onnx)`, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-train-'));
  const env = { ...process.env, OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' };
  const log = execFileSync(PY, ['training/train.py', '--kind', 'tiles', '--epochs', '1', '--limit', '300', '--batch', '32', '--out', path.join(dir, 'run')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  assert.match(log, /epoch {3}1\/1 {2}loss \d/);
  const saved = JSON.parse(readFileSync(path.join(dir, 'run', 'args.json'), 'utf8')) as Record<string, unknown>;
  assert.ok(!('kind' in saved), 'a run saves its kind\'s arguments only, as before kinds');
  execFileSync(PY, ['training/export.py', '--run', path.join(dir, 'run'), '--name', 'tiny', '--out', path.join(dir, 'model')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  await answersWith({ modelDir: path.join(dir, 'model'), modelDir4x4: '' }, '3x3', '/m/0k4j');
  // the grid4-scratch picture model, started from that tiny tile model: a few steps, exported, served
  const g4 = execFileSync(PY, ['training/train.py', '--kind', 'grid4-scratch', '--init', path.join(dir, 'run', 'last.pt'), '--size', '128', '--max-steps', '3',
    '--batch', '4', '--real', '2', '--rebuilt', 'data/grid4-rebuilt', '--rebuilt-per-step', '2', '--eval-every', '1', '--out', path.join(dir, 'grid4-run')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  assert.match(g4, /step {5}3 {2}loss \d/);
  const [, n, train, held] = (/rebuilt: (\d+) labelled pictures, (\d+) for training, (\d+) held out/.exec(g4) ?? []).map(Number);
  assert.ok(n! >= 277 && train! + held! === n && held! > 0.1 * n! && held! < 0.3 * n!, g4);
  execFileSync(PY, ['training/export.py', '--kind', 'grid4-scratch', '--run', path.join(dir, 'grid4-run'), '--out', path.join(dir, 'grid4')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  await answersWith({ modelDir: path.join(dir, 'model'), modelDir4x4: path.join(dir, 'grid4') }, '4x4', '/m/015qff', 'picture');
});

it('fine-tunes a tiny 4x4 model (--kind grid4) from the COCO-pretrained detector, exports it in training and by the export step alike, writes its card, and the service answers with it', {
  skip: (!hasTorch && `${PY} lacks torch/torchvision/onnx`) || (!existsSync(PRETRAINED) && `${PRETRAINED} is missing (pretrained weights live in ../shared, never in git)`)
    || (!existsSync(GRID4_DATA) && `${GRID4_DATA} is missing (data lives in ../shared)`),
  timeout: 600_000,
}, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-grid4-'));
  const env = { ...process.env, OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' };
  // four pictures of each list (the first validation ones ask for motorcycles and a bicycle) and four rebuilt ones, 128 px,
  // a few full-batch steps of the head; --gate 0 answers every question validation has
  const run = path.join(dir, 'run');
  const log = execFileSync(PY, ['training/train.py', '--kind', 'grid4', '--size', '128', '--limit', '4', '--epochs', '3', '--gate', '0',
    '--out', run, '--export', path.join(dir, 'model')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  assert.match(log, /pictures: train \d+, fit \d+, val 4/);
  assert.match(log, /step {4}1\/3 {2}loss \d/);
  assert.match(log, /exported .*answers .*motorcycle/);
  for (const f of ['head.pt', 'report.json', 'args.json']) assert.ok(existsSync(path.join(run, f)), f);
  // the export step on the same run writes the same graph and manifest
  execFileSync(PY, ['training/export.py', '--kind', 'grid4', '--run', run, '--out', path.join(dir, 'again')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  const manifest = readFileSync(path.join(dir, 'model', 'model.json'), 'utf8');
  assert.equal(readFileSync(path.join(dir, 'again', 'model.json'), 'utf8'), manifest);
  const m = JSON.parse(manifest) as { name: string; input: { unit?: string; size: number }; grids: Record<string, string[]>; data: { trainArgs: Record<string, unknown> } };
  assert.equal(m.name, 'gridlens-grid4');
  assert.equal(m.input.size, 128);
  assert.ok(m.grids['4x4']!.includes('motorcycle'), manifest);
  assert.ok(!('kind' in m.data.trainArgs), 'trainArgs are the kind\'s arguments only');
  await answersWith({ modelDir: FIXTURE_MODEL, modelDir4x4: path.join(dir, 'model') }, '4x4', '/m/04_sv', 'picture');
  // the card step, on a made-up service evaluation: it names the commands of the one pipeline
  const evalJson = path.join(dir, 'eval.json');
  writeFileSync(evalJson, JSON.stringify({ grid4: { challenges: 4, unanswerable: 0, precision: 0.5, recall: 0.5, f1: 0.5, exactSetRate: 0.25,
    perQuestion: { motorcycle: { total: 3, f1: 0.5, exact: 1 }, bicycle: { total: 1, f1: 0.5, exact: 0 } } } }));
  execFileSync(PY, ['training/model_card.py', '--kind', 'grid4', '--run', run, '--model', path.join(dir, 'model'), '--eval', evalJson], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  const card = readFileSync(path.join(dir, 'model', 'MODEL_CARD.md'), 'utf8');
  assert.match(card, /^\/usr\/bin\/python3 training\/train\.py --kind grid4 --size 128 --epochs 3 --gate 0\.0 --out \S+ --export \S+$/m);
  assert.match(card, /^\/usr\/bin\/python3 training\/parity\.py --kind grid4 --run \S+$/m);
});

it('refuses an unknown --kind at every step, naming the kinds', { skip: !existsSync(PY) && `no ${PY}` }, () => {
  for (const step of STEPS) {
    const r = spawnSync(PY, [`training/${step}`, '--kind', 'grid5', '--out', os.tmpdir()], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 2, `${step}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`--kind 'grid5': unknown model kind; the kinds are ${KINDS.join(', ')}`), step);
  }
});

it('lists the kinds in every step\'s --help, and each kind\'s own flags with --kind', { skip: !hasTorch && `${PY} lacks torch/torchvision/onnx` }, () => {
  const help = (...args: string[]) => execFileSync(PY, args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  for (const step of STEPS) {
    const out = help(`training/${step}`, '--help');
    for (const k of KINDS) assert.match(out, new RegExp(`^  ${k} +\\S`, 'm'), `${step} --help lists ${k}`);
    assert.match(out.replace(/\s+/g, ' '), /the other flags here are those of --kind tiles/, step);
  }
  assert.match(help('training/train.py', '--help'), /--arch \{mnv3s,mnv3l,coco\}/);
  const grid4 = help('training/train.py', '--kind', 'grid4', '--help');
  assert.match(grid4, /--pooled-for-coco/);
  assert.doesNotMatch(grid4, /--arch \{/);
  assert.match(help('training/train.py', '--kind', 'grid4-scratch', '--help'), /--init INIT/);
  assert.match(help('training/export.py', '--kind', 'grid4', '--help'), /--checkpoint CHECKPOINT\s+the head file in --run/);
});

it('fine-tunes a tiny tile model from the COCO-pretrained backbone, calibrates and exports it, and the service answers with it', { skip: (!hasTorch && `${PY} lacks torch/torchvision/onnx`) || (!existsSync(PRETRAINED) && `${PRETRAINED} is missing (pretrained weights live in ../shared, never in git)`), timeout: 600_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-coco-'));
  const env = { ...process.env, OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' };
  const log = execFileSync(PY, ['training/train.py', '--arch', 'coco', '--size', '64', '--epochs', '1', '--limit', '400', '--batch', '32', '--lr', '1e-3',
    '--head', 'softmax', '--mix', '0', '--out', path.join(dir, 'run')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  assert.match(log, /epoch {3}1\/1 {2}loss \d/);
  assert.match(log, /fit \d+/);
  // a smaller student distilled from it: the teacher's scores at its own 64 px, the student at 48
  const student = execFileSync(PY, ['training/train.py', '--arch', 'coco', '--size', '48', '--epochs', '1', '--limit', '400', '--batch', '32', '--lr', '1e-3',
    '--head', 'softmax', '--mix', '0', '--teacher', path.join(dir, 'run', 'last.pt'), '--init', path.join(dir, 'run', 'last.pt'), '--out', path.join(dir, 'student')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  const [, agree] = /teacher .* \(epoch 1, 64 px\): agrees with ([\d.]+)% of the labelled tiles/.exec(student) ?? [];
  assert.ok(Number(agree) > 5, student);
  assert.match(student, /distilling from .*: \d+ labelled tiles \(70% teacher\), 400 unlabelled tiles/);
  assert.match(student, /epoch {3}1\/1 {2}loss \d/);
  // a teacher that trained on tiles the student holds out (a larger validation share draws more) is refused
  const leak = spawnSync(PY, ['training/train.py', '--arch', 'coco', '--size', '48', '--epochs', '1', '--limit', '400', '--batch', '32', '--val-fraction', '0.3',
    '--head', 'softmax', '--mix', '0', '--teacher', path.join(dir, 'run', 'last.pt'), '--out', path.join(dir, 'leak')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  assert.notEqual(leak.status, 0);
  assert.match(leak.stderr, /trained on \d+ of this run's validation\/fitting tiles/);
  const out = execFileSync(PY, ['training/export.py', '--run', path.join(dir, 'run'), '--checkpoint', 'last.pt', '--name', 'tiny-coco', '--include', 'bus=school_bus',
    '--operating-point', 'challenge', '--at-half', '--half-min-positives', '2', '--out', path.join(dir, 'model')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  assert.match(out, /calibration on \d+ fitting tiles/);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'model', 'model.json'), 'utf8')) as {
    output: { activation: string }; input: { std: number[] }; includes?: object; thresholds: Record<string, number>;
    metrics: { calibration?: { validationAfter: object; atHalf?: { biasShift: Record<string, number> } } };
  };
  assert.deepEqual(manifest.includes, { bus: ['school_bus'] }, 'a bus question is answered by bus + school bus');
  // --at-half: every class it moved answers at 0.5, the confidence a vendor client sends
  const moved = Object.keys(manifest.metrics.calibration?.atHalf?.biasShift ?? {});
  assert.ok(moved.length > 0, out);
  for (const c of moved) assert.equal(manifest.thresholds[c], 0.5, c);
  assert.equal(manifest.output.activation, 'sigmoid');
  assert.ok(manifest.metrics.calibration?.validationAfter);
  assert.ok(Math.abs(manifest.input.std[0]! - 1 / 255) < 1e-9, 'the COCO backbone reads RGB 0-255');
  await answersWith({ modelDir: path.join(dir, 'model'), modelDir4x4: '' }, '3x3', '/m/0k4j');
  await answersWith({ modelDir: path.join(dir, 'model'), modelDir4x4: '' }, '3x3', '/m/01bjv');
  // the clean export (fused HardSwish/HardSigmoid, constant padding) of the same weights and calibration
  const clean = execFileSync(PY, ['training/clean_export.py', path.join(dir, 'model'), '--checkpoint', path.join(dir, 'run', 'last.pt'), '--check', '16', '--out', path.join(dir, 'clean')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  const [, change] = /largest score change over 16 tiles: ([\d.e+-]+)/.exec(clean) ?? [];
  // exact 1/6 in place of TF's float16 0.16662598: 4.9e-3 on the shipped model, ~1e-2 on this one-epoch model
  assert.ok(change !== undefined && Number(change) < 0.03, clean);
  assert.match(clean, /HardSwish \d+/);
  const cleanManifest = JSON.parse(readFileSync(path.join(dir, 'clean', 'model.json'), 'utf8')) as { version: string; export: { fused: boolean } };
  assert.ok(cleanManifest.version.endsWith('-clean') && cleanManifest.export.fused);
  await answersWith({ modelDir: path.join(dir, 'clean'), modelDir4x4: '' }, '3x3', '/m/0k4j');
  // and its int8 QDQ graph, calibrated on training tiles through onnxruntime-node (dist/src/inference/activation-ranges.js)
  const q = execFileSync(PY, ['training/quantize.py', path.join(dir, 'clean'), '--calibration', '18', '--out', path.join(dir, 'int8')], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  const [, convs] = /(\d+) Conv with int8 weights/.exec(q) ?? [];
  assert.ok(Number(convs) > 40, q);
  await answersWith({ modelDir: path.join(dir, 'int8'), modelDir4x4: '' }, '3x3', '/m/0k4j');
});

it('moves a class after the classes its question includes, along a chain (export --at-half order)', { skip: !hasTorch && `${PY} lacks numpy/torch` }, () => {
  const script = [
    'import sys', 'sys.path.insert(0, "training")',
    'from gridlens_train.tiles.export import included_first',
    'classes = ["bus", "car", "school_bus", "vehicle"]',
    'print(included_first([3, 0, 1, 2], classes, {"vehicle": ["bus"], "bus": ["school_bus"]}))',
  ].join('\n');
  const order = JSON.parse(execFileSync(PY, ['-c', script], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim()) as number[];
  assert.deepEqual(order, [2, 0, 3, 1]);
});

it('puts a class\'s best 3x3 operating point at 0.5 (export --at-half)', { skip: !hasTorch && `${PY} lacks numpy/torch` }, () => {
  // positives score 0.70-1.0 and negatives 0-0.65: every threshold in (0.65, 0.70] solves every challenge,
  // so the shift must move that gap onto 0.5 (logit space: p' = sigmoid(logit(p) + d))
  const script = [
    'import sys, numpy as np',
    'sys.path.insert(0, "training")',
    'from gridlens_train.calibration import challenge_solve_rate, challenge_threshold, half_shift',
    'rng = np.random.default_rng(0)',
    's = np.concatenate([rng.uniform(0.70, 1.0, 60), rng.uniform(0.0, 0.65, 300)]); pos = np.arange(360) < 60',
    'logit = lambda p: np.log(p) - np.log1p(-p)',
    'd = half_shift(lambda d: 1 / (1 + np.exp(-(logit(np.clip(s, 1e-6, 1 - 1e-6)) + d))), pos)',
    't = challenge_threshold(s, pos)',
    'print(d, t, challenge_solve_rate(s, pos, t), challenge_solve_rate(s, pos, 0.5), s[~pos].max(), s[pos].min())',
  ].join('\n');
  const [d, t, atT, at05, maxNeg, minPos] = execFileSync(PY, ['-c', script], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim().split(' ').map(Number);
  const cut = 1 / (1 + Math.exp(d!)); // the raw score that lands on 0.5 after the shift
  assert.ok(cut > maxNeg! && cut <= minPos!, `shift ${d} puts 0.5 at raw ${cut}, outside (${maxNeg}, ${minPos}]`);
  assert.ok(t! > maxNeg! && t! <= minPos!, `threshold ${t}`);
  assert.equal(atT, 1);
  assert.ok(at05! < 1, 'at 0.5 some negatives are selected');
});

it('puts a new class\'s threshold where min(recall, precision) is best (export --new-class-threshold gate)', { skip: !hasTorch && `${PY} lacks numpy/torch` }, () => {
  // a rare class: 100 positives score 0.2-1.0; of 1,000 negatives 900 score 0-0.2 and 100 0.2-0.6. Balanced
  // accuracy takes the threshold down to 0.2 (recall is worth more than the few negatives it lets in, and
  // precision falls to 0.5); the gate threshold must clear both better (best min(recall, precision) ~0.69 near 0.45)
  const script = [
    'import sys, numpy as np',
    'sys.path.insert(0, "training")',
    'from gridlens_train.calibration import gate_threshold',
    'from gridlens_train.tiles.export import calibrate',
    'rng = np.random.default_rng(0)',
    's = np.concatenate([rng.uniform(0.2, 1.0, 100), rng.uniform(0.0, 0.2, 900), rng.uniform(0.2, 0.6, 100)]); pos = np.arange(1100) < 100',
    'def rp(t):',
    '    sel = s >= t',
    '    return min((sel & pos).sum() / pos.sum(), (sel & pos).sum() / max(1, sel.sum()))',
    'tb, tg = calibrate(s, pos), gate_threshold(s, pos)',
    'print(tb, tg, rp(tb), rp(tg), max(rp(t) for t in np.linspace(0.02, 0.98, 97)))',
  ].join('\n');
  const [tb, tg, atB, atG, best] = execFileSync(PY, ['-c', script], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim().split(' ').map(Number);
  assert.ok(tg! > tb!, `gate threshold ${tg} not above balanced ${tb}`);
  assert.ok(atG! > atB! + 0.1, `min(recall, precision) ${atG} at the gate threshold, ${atB} at balanced`);
  assert.ok(atG! >= best! - 0.02, `min(recall, precision) ${atG}, best on the grid ${best}`);
});

it('rebuilds cut-up 4x4 pictures square for square, and never a wrong one', { skip: !hasTorch && `${PY} lacks numpy/torch`, timeout: 120_000 }, () => {
  // training/rebuild_grid4.py --selftest: grid4-v1 pictures cut into shuffled 95x95 squares, as the
  // 2022 collection stored them; the jigsaw must not return a wrong picture and must rebuild at least
  // 40% (31 of 60 here; 72 of all 129; 4,432 of the 7,540 real squares came back as pictures)
  const out = execFileSync(PY, ['training/rebuild_grid4.py', '--selftest', '60'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  const [, right, wrong] = /selftest: (\d+) of 60 pictures rebuilt exactly; (\d+) wrong/.exec(out) ?? [];
  assert.equal(wrong, '0', out);
  assert.ok(Number(right) >= 24, out);
});

// The from-scratch MobileNetV3-small tile model of commit 50ddedc (the shipped one until the COCO
// backbone replaced it), read from git history: the script rebuilds such models, not the COCO one.
const FROM_SCRATCH = '50ddedc';
const hasHistory = spawnSync('git', ['cat-file', '-e', `${FROM_SCRATCH}^{commit}`], { cwd: PROJECT_ROOT, stdio: 'ignore' }).status === 0;

it('turns a from-scratch tile model (ONNX) back into a PyTorch checkpoint that scores like it', { skip: (!hasTorch && `${PY} lacks torch/torchvision/onnx`) || (!hasHistory && `commit ${FROM_SCRATCH} (the last from-scratch tile model) is not in this clone's history`), timeout: 120_000 }, () => {
  // the folded BatchNorms come back as convolution + an exact BatchNorm; the script compares the
  // parity tiles' scores with the original checkpoint's (that commit's test/fixtures/parity/reference.json)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-ckpt-'));
  const model = path.join(dir, 'model');
  mkdirSync(model);
  for (const f of ['model.onnx', 'model.json', 'validation.txt']) {
    writeFileSync(path.join(model, f), execFileSync('git', ['show', `${FROM_SCRATCH}:models/gridlens-tiles/${f}`], { cwd: PROJECT_ROOT, maxBuffer: 64 << 20 }));
  }
  writeFileSync(path.join(dir, 'reference.json'), execFileSync('git', ['show', `${FROM_SCRATCH}:test/fixtures/parity/reference.json`], { cwd: PROJECT_ROOT }));
  const out = execFileSync(PY, ['training/onnx_to_checkpoint.py', model, '--out', path.join(dir, 'run'), '--reference', path.join(dir, 'reference.json')], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  const [, diff] = /largest score difference from the original checkpoint ([\d.e+-]+)/.exec(out) ?? [];
  assert.ok(diff !== undefined && Number(diff) < 1e-4, out);
  assert.ok(existsSync(path.join(dir, 'run', 'last.pt')) && existsSync(path.join(dir, 'run', 'split.json')));
});
