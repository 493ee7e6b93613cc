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
import { testService } from '../testing/service.js';

const CHROMIUM = '/usr/bin/chromium';

it('loads a sample, solves it, shows the answer and highlights the chosen cells', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} missing (apt-get install chromium)`, timeout: 120_000 }, async () => {
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
    mkdirSync(path.join(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(PROJECT_ROOT, 'test-artifacts', 'playground.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await svc.close();
  }
});
