/** Our label CSVs resolve to real unlabeled-v1 tiles, and a label that names the wrong pixels is refused; corrections of tiles-v1's labels apply. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT } from '../config.js';
import { parseCsv } from './csv.js';
import { applyCorrections, loadLabelled, loadTiles } from './datasets.js';
import { withImplied } from './tiles.js';

const UNLABELED = path.join(PROJECT_ROOT, '..', 'shared', 'data', 'unlabeled-v1');
const LABELS = path.join(PROJECT_ROOT, 'data', 'labels');
const skip = !existsSync(UNLABELED) && 'no ../shared/data';

it('loads every labelled tile of data/labels with its class', { skip }, () => {
  const rows = readdirSync(LABELS).filter((f) => f.endsWith('.csv')).flatMap((f) => parseCsv(readFileSync(path.join(LABELS, f), 'utf8')));
  const only = new Set(rows.slice(0, 40).map((r) => r.file!));
  const images = loadLabelled(LABELS, UNLABELED, only);
  assert.equal(images.length, only.size);
  for (const im of images) {
    assert.deepEqual(im.labels, [rows.find((r) => r.file === im.file)!.class]);
    assert.equal(im.bytes.subarray(0, 2).toString('hex'), 'ffd8', `${im.file} is a JPEG`);
  }
});

it('refuses a label whose pix_sha1 does not match the data set', { skip }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-labels-'));
  const first = readFileSync(path.join(LABELS, readdirSync(LABELS).find((f) => f.endsWith('.csv'))!), 'utf8').split('\n')[1]!;
  const [, file, cls] = first.split(',');
  writeFileSync(path.join(dir, 'bad.csv'), `pix_sha1,file,class,method\n${'0'.repeat(40)},${file},${cls},test\n`);
  assert.throws(() => loadLabelled(dir, UNLABELED), /bad\.csv: .* is not in .* with pix_sha1 0{40}/);
});

const TILES = path.join(PROJECT_ROOT, '..', 'shared', 'data', 'tiles-v1');
const CORRECTIONS = path.join(LABELS, 'corrections', 'tiles-v1.csv');

it('corrects tiles-v1 labels from data/labels/corrections (a "bus" tile that shows a school bus is school_bus|bus)', { skip: !existsSync(TILES) && 'no ../shared/data/tiles-v1' }, () => {
  const rows = parseCsv(readFileSync(CORRECTIONS, 'utf8'));
  const school = rows.filter((r) => r.class === 'school_bus').slice(0, 5);
  const only = new Set([...school.map((r) => r.file!), 'bus/does-not-exist.jpg']);
  const images = loadTiles(TILES, only);
  assert.equal(images.length, school.length);
  assert.ok(images.every((im) => im.labels.join('|') === 'bus'), 'the data set says bus');
  assert.equal(applyCorrections(images, CORRECTIONS, TILES), school.length);
  for (const im of images) assert.deepEqual(im.labels, ['school_bus', 'bus']);
  assert.deepEqual(withImplied(['school_bus']), ['school_bus', 'bus'], 'a school bus from our own labels is a bus too');
  assert.deepEqual(withImplied(['car']), ['car']);
  // a correction naming the wrong pixels or the wrong original class is refused
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gridlens-corrections-'));
  const r = school[0]!;
  writeFileSync(path.join(dir, 'wrong.csv'), `pix_sha1,file,from,class,labels,method\n${r.pix_sha1},${r.file},car,school_bus,school_bus|bus,test\n`);
  assert.throws(() => applyCorrections(images, path.join(dir, 'wrong.csv'), TILES), /is not a car tile of .* with pix_sha1/);
  assert.equal(applyCorrections(images, path.join(dir, 'absent.csv'), TILES), 0);
});

it('every correction names a tiles-v1 tile, its original class and a method', { skip: !existsSync(TILES) && 'no ../shared/data/tiles-v1' }, () => {
  const rows = parseCsv(readFileSync(CORRECTIONS, 'utf8'));
  assert.ok(rows.length > 300);
  const images = loadTiles(TILES, new Set(rows.map((r) => r.file!)));
  assert.equal(applyCorrections(images, CORRECTIONS, TILES), rows.length);
  assert.ok(rows.every((r) => r.method && r.labels!.split('|')[0] === r.class));
});
