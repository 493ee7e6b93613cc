/**
 * The pretrained-weights loader (training/gridlens_train/centernet.py) reproduces the reference
 * outputs of ../shared/pretrained/README.md: the stride-32 feature means and the three largest
 * heat-map peaks of three grid4-v1 pictures, within 1e-3. Skipped, with the reason, where
 * Debian's PyTorch or ../shared is missing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT } from './config.js';

const PY = '/usr/bin/python3';
const PRETRAINED = path.join(PROJECT_ROOT, '..', 'shared', 'pretrained', 'coco-mobilenetv3-centernet', 'centernet.bin');
const GRID4 = path.join(PROJECT_ROOT, '..', 'shared', 'data', 'grid4-v1', 'grid4-train.tar');
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch, PIL, numpy'], { stdio: 'ignore' }).status === 0;
const skip = !hasTorch ? `${PY} lacks torch/PIL/numpy (apt-get install python3-torch python3-pil python3-numpy)`
  : !existsSync(PRETRAINED) ? `${PRETRAINED} is missing (the pretrained weights live in ../shared, never in git)`
    : !existsSync(GRID4) ? `${GRID4} is missing` : false;

// shared/pretrained/README.md, "Reference outputs": COCO index and peak, top three, and the stride-32 mean
const REFERENCE: Record<string, { mean: number; top: [number, number][] }> = {
  '040ca91ce0993cc7ed92.jpg': { mean: 0.02291, top: [[3, 0.4681], [9, 0.1980], [67, 0.1368]] }, // motorcycle, traffic light, cell phone
  '02fa1320169a146f82d5.jpg': { mean: 0.01292, top: [[2, 0.2911], [9, 0.2361], [7, 0.1635]] }, // car, traffic light, truck
  '0289934c21b391db24d9.jpg': { mean: 0.02113, top: [[0, 0.7975], [1, 0.3034], [67, 0.1188]] }, // person, bicycle, cell phone
};

it('loads the COCO CenterNet weights into PyTorch and reproduces the README reference outputs within 1e-3', { skip, timeout: 120_000 }, () => {
  const out = execFileSync(PY, ['training/check_pretrained.py'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  const { pictures } = JSON.parse(out) as { pictures: { picture: string; stride32_mean: number; top: [number, number][] }[] };
  assert.equal(pictures.length, 3);
  for (const p of pictures) {
    const ref = REFERENCE[p.picture]!;
    assert.ok(Math.abs(p.stride32_mean - ref.mean) < 1e-3, `${p.picture}: stride-32 mean ${p.stride32_mean} vs ${ref.mean}`);
    p.top.forEach(([cls, v], i) => {
      assert.equal(cls, ref.top[i]![0], `${p.picture}: peak ${i} is COCO class ${cls}, README says ${ref.top[i]![0]}`);
      assert.ok(Math.abs(v - ref.top[i]![1]) < 1e-3, `${p.picture}: peak ${i} ${v} vs ${ref.top[i]![1]}`);
    });
  }
});
