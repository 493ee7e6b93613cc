/** Our label CSVs resolve to real unlabeled-v1 tiles, and a label that names the wrong pixels is refused. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT } from '../config.js';
import { parseCsv } from './csv.js';
import { loadLabelled } from './datasets.js';

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
