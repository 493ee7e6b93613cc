/**
 * Smoke test with the shipped model through HTTP: 3x3 grids composed from validation tiles of
 * ../shared/data/tiles-v1 (never trained on), three tiles of one class planted among others;
 * the answer (top three) must be the planted tiles in most grids.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import sharp from 'sharp';
import { PROJECT_ROOT, loadConfig } from '../config.js';
import { buildService } from '../app.js';
import { loadTiles } from '../eval/datasets.js';
import { seededRandom, shuffle } from '../eval/rng.js';
import { post } from '../testing/service.js';

const TILES = path.join(PROJECT_ROOT, '..', 'shared', 'data', 'tiles-v1');
const MODEL = path.join(PROJECT_ROOT, 'models', 'gridlens-tiles');
const QUESTION: Record<string, string> = { car: '/m/0k4j', bus: '/m/01bjv', hydrant: '/m/01pns0', crosswalk: '/m/014xcs', palm: '/m/0cdl1', bicycle: '/m/0199g', traffic_light: '/m/015qff' };

it('answers composed 3x3 grids with the planted tiles', { skip: !existsSync(TILES) && 'no ../shared/data' }, async () => {
  const only = new Set(readFileSync(path.join(MODEL, 'validation.txt'), 'utf8').split('\n').filter(Boolean));
  const tiles = loadTiles(TILES, only);
  const svc = await buildService(loadConfig({ dbPath: ':memory:', logLevel: 'silent', inferenceWorkers: 1 }, {}));
  try {
    const { clientKey } = await svc.accounts.createAccount(100_000);
    const rand = seededRandom(7);
    const classes = Object.keys(QUESTION);
    let solved = 0;
    // 15 grids per class: 30 were too few to tell the model from the luck of the draw (the same
    // procedure over 210 grids solved 68% with the shipped model; top-3 by chance solves about 1%)
    const GRIDS = 105;
    for (let n = 0; n < GRIDS; n++) {
      const target = classes[n % classes.length]!;
      const hits = shuffle(rand, tiles.filter((t) => t.labels.includes(target))).slice(0, 3);
      const rest = shuffle(rand, tiles.filter((t) => !t.labels.includes(target) && t.labels[0] !== 'other')).slice(0, 6);
      const cells = shuffle(rand, [...hits, ...rest]);
      const composite = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#000' } })
        .composite(await Promise.all(cells.map(async (t, i) => ({ input: await sharp(t.bytes).resize(100, 100, { fit: 'fill' }).toBuffer(), left: (i % 3) * 100, top: Math.floor(i / 3) * 100 }))))
        .jpeg({ quality: 90 }).toBuffer();
      const r = await post(svc, '/createTask', { clientKey, task: { type: 'ReCaptchaV2Classification', image: composite.toString('base64'), question: QUESTION[target] } });
      assert.equal(r.errorId, 0, r.errorDescription);
      const want = cells.flatMap((t, i) => (hits.includes(t) ? [i] : []));
      if (JSON.stringify((r.solution as { objects: number[] }).objects) === JSON.stringify(want)) solved += 1;
    }
    assert.ok(solved >= GRIDS * 0.5, `solved ${solved} of ${GRIDS} composed grids`);
  } finally {
    await svc.close();
  }
});
