import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { BLACK, BLUE, GREEN, RED, cellsWith, gridPicture, screenshotPicture, type Rgb } from '../testing/pictures.js';
import { assembleCells, detectGrid, type Raster } from './detect-grid.js';

async function raster(bytes: Buffer): Promise<Raster> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

const MIXED: Rgb[] = [RED, BLUE, GREEN, BLACK, RED, BLUE, GREEN, BLACK, RED, BLUE, GREEN, BLACK, RED, BLUE, GREEN, BLACK];

describe('detectGrid', () => {
  it('finds a 3x3 and its crop inside white margins', async () => {
    const shot = await screenshotPicture(MIXED.slice(0, 9), { cell: 160, separator: 6, margin: [40, 90, 25, 30] }, 'jpeg');
    const found = detectGrid(await raster(shot.bytes));
    assert.equal(found?.rows, 3);
    for (const k of ['left', 'top', 'right', 'bottom'] as const) assert.ok(Math.abs(found!.box[k] - shot.box[k]) <= 2, `${k}: ${found!.box[k]} vs ${shot.box[k]}`);
  });

  it('finds a 4x4 inside a coloured margin', async () => {
    const shot = await screenshotPicture(MIXED, { cell: 120, separator: 5, margin: [12, 60, 33, 8], background: [74, 144, 226] });
    const found = detectGrid(await raster(shot.bytes));
    assert.equal(found?.rows, 4);
    assert.deepEqual(found?.box, shot.box);
    assert.equal(found?.separator, 5);
  });

  it('with rows given, looks only for that kind', async () => {
    const shot = await screenshotPicture(MIXED.slice(0, 9), { cell: 120, separator: 5, margin: [10, 10, 10, 10] });
    assert.equal(detectGrid(await raster(shot.bytes), 4), undefined);
    assert.equal(detectGrid(await raster(shot.bytes), 3)?.rows, 3);
  });

  it('finds nothing in plain pictures: no separators, a white picture, a tiny one', async () => {
    assert.equal(detectGrid(await raster(await gridPicture(MIXED.slice(0, 9), 500))), undefined);
    assert.equal(detectGrid(await raster(await gridPicture(cellsWith(16, RED, [0, 5]), 600, 'jpeg'))), undefined);
    assert.equal(detectGrid(await raster(await gridPicture([[255, 255, 255]], 400))), undefined);
    assert.equal(detectGrid(await raster(await gridPicture([RED], 40))), undefined);
  });
});

describe('assembleCells', () => {
  it('cuts the cells out without the separators, into the model\'s picture', async () => {
    const shot = await screenshotPicture(cellsWith(9, RED, [0, 4, 8], BLUE), { cell: 150, separator: 8, margin: [20, 20, 20, 20] });
    const img = await raster(shot.bytes);
    const out = assembleCells(img, detectGrid(img)!, 300);
    assert.equal(out.length, 300 * 300 * 3);
    // every pixel is red or blue: no white separator survives, even at a cell's edge
    for (let p = 0; p < out.length; p += 3) assert.ok(out[p + 1]! < 40, `pixel ${p / 3} is ${out[p]},${out[p + 1]},${out[p + 2]}`);
    assert.deepEqual([...out.subarray(0, 3)], [230, 20, 20]);
    assert.deepEqual([...out.subarray((150 * 300 + 250) * 3, (150 * 300 + 250) * 3 + 3)], [20, 20, 230]);
  });
});
