/**
 * The labelling tools of training/: contact sheets of chosen images (review_sheets.py) and the join of
 * two independent passes over them into labels (merge_verdicts.py). merge_verdicts needs only Python's
 * standard library; review_sheets needs Pillow and ../shared/data/tiles-v1 and skips, saying why, without.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT } from './config.js';

const PY = '/usr/bin/python3';
const TILES = path.join(PROJECT_ROOT, '..', 'shared', 'data', 'tiles-v1', 'manifest.csv');
const hasPil = existsSync(PY) && spawnSync(PY, ['-c', 'import PIL, numpy'], { stdio: 'ignore' }).status === 0;

function run(script: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(PY, [path.join('training', script), ...args], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** A sheet of four cells and two passes over it. */
function sheetAndPasses(dir: string, a: string[], b: string[]): void {
  writeFileSync(path.join(dir, 'mountain-00.csv'), 'cell,file,pix_sha1,tile_score\n' + [0, 1, 2, 3].map((i) => `${i},X/f${i}.jpg,sha${i},0.${i}\n`).join(''));
  const pass = (v: string[]) => 'sheet,cell,verdict,note\n' + v.map((x, i) => `mountain-00,${i},${x},n\n`).join('');
  writeFileSync(path.join(dir, 'a.csv'), pass(a));
  writeFileSync(path.join(dir, 'b.csv'), pass(b));
}

it('labels a cell when both passes say yes, asks for a third look where only one does, and never labels a split cell without one', { skip: !existsSync(PY) && `no ${PY}` }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-merge-'));
  sheetAndPasses(dir, ['yes', 'yes', 'no', 'unsure'], ['yes', 'no', 'no', 'yes']);
  const common = ['--class', 'mountain', '--sheets', dir, '--pass-a', path.join(dir, 'a.csv'), '--pass-b', path.join(dir, 'b.csv'),
    '--review', path.join(dir, 'review.csv'), '--labels', path.join(dir, 'labels.csv'), '--method', 'test passes'];
  const refused = run('merge_verdicts.py', common);
  assert.equal(refused.status, 1, refused.out);
  assert.match(refused.out, /2 cells where exactly one pass said yes need a third look/);
  assert.match(refused.out, /mountain-00,1\nmountain-00,3/);
  assert.ok(!existsSync(path.join(dir, 'labels.csv')), 'nothing written before the third look');

  writeFileSync(path.join(dir, 'third.csv'), 'sheet,cell,verdict,note\nmountain-00,1,no,road bank\nmountain-00,3,yes,hill\n');
  const ok = run('merge_verdicts.py', [...common, '--third', path.join(dir, 'third.csv')]);
  assert.equal(ok.status, 0, ok.out);
  const labels = readFileSync(path.join(dir, 'labels.csv'), 'utf8').trim().split(/\r?\n/);
  assert.equal(labels[0], 'pix_sha1,file,class,method');
  assert.deepEqual(labels.slice(1).map((l) => l.split(',').slice(0, 3).join(',')), ['sha0,X/f0.jpg,mountain', 'sha3,X/f3.jpg,mountain']);
  const review = readFileSync(path.join(dir, 'review.csv'), 'utf8').trim().split(/\r?\n/);
  assert.equal(review.length, 5);
  assert.match(review[2]!, /,yes,no,no,no,third look$/);
  assert.match(review[3]!, /,no,no,,no,agreed$/);

  // a second run appends no label twice
  const again = run('merge_verdicts.py', [...common, '--third', path.join(dir, 'third.csv')]);
  assert.match(again.out, /0 new rows/);
  assert.equal(readFileSync(path.join(dir, 'labels.csv'), 'utf8').trim().split(/\r?\n/).length, 3);
});

it('refuses a verdict outside yes/no/unsure and a cell without a verdict, naming them', { skip: !existsSync(PY) && `no ${PY}` }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-merge-'));
  sheetAndPasses(dir, ['yes', 'maybe', 'no', 'no'], ['yes', 'no', 'no']);
  const common = ['--class', 'mountain', '--sheets', dir, '--pass-b', path.join(dir, 'b.csv'),
    '--review', path.join(dir, 'review.csv'), '--labels', path.join(dir, 'labels.csv'), '--method', 'm'];
  const bad = run('merge_verdicts.py', ['--pass-a', path.join(dir, 'a.csv'), ...common]);
  assert.equal(bad.status, 1);
  assert.match(bad.out, /a\.csv:3: verdict 'maybe' is not one of no, unsure, yes/);
  const short = run('merge_verdicts.py', ['--pass-a', path.join(dir, 'b.csv'), ...common]);
  assert.match(short.out, /1 cells lack a verdict in one of the passes, e.g. mountain-00 cell 3/);
});

it('makes numbered contact sheets of the chosen tiles, with each cell\'s file beside them', { skip: (!hasPil && `${PY} lacks Pillow/numpy`) || (!existsSync(TILES) && 'no ../shared/data/tiles-v1') }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-sheets-'));
  const rows = readFileSync(TILES, 'utf8').trim().split(/\r?\n/);
  const col = rows[0]!.split(',').indexOf('file');
  const files = rows.slice(1, 6).map((r) => r.split(',')[col]!);
  writeFileSync(path.join(dir, 'pick.csv'), 'file,keep\n' + files.map((f, i) => `${f},${i % 2 ? 'no' : 'yes'}\n`).join(''));
  const r = run('review_sheets.py', ['--data', 'tiles-v1', '--files', path.join(dir, 'pick.csv'), '--where', 'keep=yes', '--grid', '2', '--out', path.join(dir, 'out'), '--name', 't']);
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(readdirSync(path.join(dir, 'out')).sort(), ['t-00.csv', 't-00.png']);
  const cells = readFileSync(path.join(dir, 'out', 't-00.csv'), 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(',')[1]);
  assert.deepEqual(cells, [files[0], files[2], files[4]]);
  const png = readFileSync(path.join(dir, 'out', 't-00.png'));
  assert.equal(png.readUInt32BE(16), 960, 'a 960 px sheet');
  const wrong = run('review_sheets.py', ['--data', 'tiles-v1', '--files', path.join(dir, 'pick.csv'), '--where', 'nope=1', '--out', path.join(dir, 'x')]);
  assert.match(wrong.out, /has no column 'nope' \(columns: file, keep\)/);
});
