/**
 * The playground in a real browser (Debian's Chromium driven by playwright-core): load a sample,
 * solve it, check the JSON on the page and the highlighted cells on the canvas. A screenshot
 * goes to test-artifacts/playground.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { chromium } from 'playwright-core';
import { PROJECT_ROOT } from '../config.js';
import { RED, gridPicture } from '../testing/pictures.js';
import { testService } from '../testing/service.js';

const CHROMIUM = '/usr/bin/chromium';

it('loads a sample, solves it, shows the answer and highlights the chosen cells; reports a wrong answer; clears on error; draws the grid the service used', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} missing (apt-get install chromium)`, timeout: 120_000 }, async () => {
  const svc = await testService({ samplesDir: path.join(PROJECT_ROOT, '..', 'shared', 'data') });
  const url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
  const { clientKey } = await svc.accounts.createAccount(1000);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('#sample option[value="g3-0"]', { state: 'attached' });
    await page.selectOption('#sample', 'g3-0');
    await page.fill('#key', clientKey);
    await page.waitForFunction(() => !(document.getElementById('solve') as HTMLButtonElement).disabled);
    await page.click('#solve');
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'solved');
    const answer = JSON.parse((await page.textContent('#answer'))!) as { errorId: number; solution: { type: string; objects: number[]; scores: number[] } };
    assert.equal(answer.errorId, 0);
    assert.equal(answer.solution.type, 'multi');
    assert.equal(answer.solution.objects.length, 3);
    assert.equal(answer.solution.scores.length, 9);
    assert.equal(await page.textContent('#cells'), `[${answer.solution.objects.join(', ')}]`);
    assert.equal(await page.textContent('#balance'), '994');
    // each cell's highlight: the green frame drawn 3 px inside the cell's top-left corner
    const frames = await page.evaluate(() => {
      const ctx = (document.getElementById('canvas') as HTMLCanvasElement).getContext('2d')!;
      return Array.from({ length: 9 }, (_, i) => {
        const [r, g, b] = ctx.getImageData((i % 3) * 150 + 4, Math.floor(i / 3) * 150 + 75, 1, 1).data;
        return r! < 60 && g! > 130 && g! < 190 && b! < 100;
      });
    });
    assert.deepEqual(frames.flatMap((f, i) => (f ? [i] : [])), answer.solution.objects);
    assert.match((await page.textContent('#curl'))!, /curl -s http:\/\/127\.0\.0\.1:\d+\/createTask/);
    assert.equal(await page.textContent('#gridused'), '3x3');
    mkdirSync(path.join(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(PROJECT_ROOT, 'test-artifacts', 'playground.png'), fullPage: true });

    // report wrong answer: click cell 4 to toggle it, then POST /feedbackTask with the cells as marked; the page shows the server's answer
    const canvas = (await page.$('#canvas'))!;
    const box = (await canvas.boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const marked = answer.solution.objects.includes(4) ? answer.solution.objects.filter((i) => i !== 4) : [...answer.solution.objects, 4].sort((a, b) => a - b);
    const [request, response] = await Promise.all([page.waitForRequest('**/feedbackTask'), page.waitForResponse('**/feedbackTask'), page.click('#report')]);
    assert.deepEqual(request.postDataJSON(), { clientKey, taskId: (JSON.parse((await page.textContent('#answer'))!) as { taskId: string }).taskId, result: { invalid: true }, objects: marked });
    const server = (await response.json()) as { errorId: number; errorCode?: string; errorDescription?: string };
    await page.waitForFunction(() => !/reporting/.test(document.getElementById('reported')!.textContent!));
    const shown = (await page.textContent('#reported'))!;
    if (server.errorId) assert.equal(shown, `report refused: ${server.errorCode}: ${server.errorDescription}`);
    else assert.equal(shown, `reported: ${JSON.stringify(server)}`);
    await page.screenshot({ path: path.join(PROJECT_ROOT, 'test-artifacts', 'playground-report.png'), fullPage: true });

    // an error clears the previous answer: no cells, no frames, nothing to report
    await page.fill('#question', 'trafic lights');
    await page.click('#solve');
    await page.waitForFunction(() => document.getElementById('status')!.className === 'error');
    assert.match((await page.textContent('#status'))!, /ERROR_UNKNOWN_QUESTION.*did you mean "traffic lights"/);
    assert.equal(await page.textContent('#cells'), '–');
    assert.equal(await page.textContent('#gridused'), '–');
    assert.equal(await page.isDisabled('#report'), true);
    const green = await page.evaluate(() => {
      const ctx = (document.getElementById('canvas') as HTMLCanvasElement).getContext('2d')!;
      return Array.from({ length: 9 }, (_, i) => {
        const [r, g, b] = ctx.getImageData((i % 3) * 150 + 4, Math.floor(i / 3) * 150 + 75, 1, 1).data;
        return r! < 60 && g! > 130 && g! < 190 && b! < 100;
      }).some(Boolean);
    });
    assert.equal(green, false);

    // without a key Solve waits, and says why
    await page.fill('#key', '');
    assert.equal(await page.isDisabled('#solve'), true);
    assert.match((await page.textContent('#hint'))!, /Solve waits for a client key/);

    // a 1x1 tile: the grid drawn is the service's, no 3x3 lines over it
    await page.setInputFiles('#file', { name: 'tile.png', mimeType: 'image/png', buffer: await gridPicture([RED], 100) });
    await page.fill('#question', 'cars');
    await page.fill('#key', clientKey);
    await page.waitForFunction(() => !(document.getElementById('solve') as HTMLButtonElement).disabled);
    await page.click('#solve');
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'solved');
    assert.equal(await page.textContent('#gridused'), '1x1');
    assert.equal(await page.textContent('#cells'), 'hasObject: true');
    const onLine = await page.evaluate(() => Array.from((document.getElementById('canvas') as HTMLCanvasElement).getContext('2d')!.getImageData(150, 75, 1, 1).data));
    assert.ok(onLine[1]! < 120 && onLine[2]! < 120, `where a 3x3 line would be, the tile shows through: ${onLine.join(',')}`);
    await page.screenshot({ path: path.join(PROJECT_ROOT, 'test-artifacts', 'playground-1x1.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await svc.close();
  }
});
