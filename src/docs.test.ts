/** The documents that ship with the code say what the code does: every endpoint and error code, the licence. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT } from './config.js';
import { ERROR_CODES } from './protocol/errors.js';
import { testService } from './testing/service.js';

const read = (f: string) => readFileSync(path.join(PROJECT_ROOT, f), 'utf8');

it('docs/protocol.md and the README name every POST endpoint the service serves, and every error code', async () => {
  const svc = await testService();
  const posts: string[] = [];
  const routes = svc.app.printRoutes({ commonPrefix: false });
  await svc.close();
  for (const m of routes.matchAll(/([A-Za-z]+) \(POST\)/g)) posts.push(`/${m[1]}`);
  assert.ok(posts.length >= 6, routes);
  const protocol = read('docs/protocol.md');
  const readme = read('README.md');
  for (const p of posts) {
    assert.match(protocol, new RegExp(`POST ${p}\\b`), `docs/protocol.md lacks POST ${p}`);
    assert.ok(readme.includes(p), `README lacks ${p}`);
  }
  for (const code of Object.keys(ERROR_CODES)) assert.ok(protocol.includes(code), `docs/protocol.md lacks ${code}`);
  assert.ok(readme.includes('(docs/protocol.md)'), 'the README points at docs/protocol.md');
  assert.ok(!/-d '[^']*'\$IMG/.test(readme), 'README examples send the picture with -d @file');
});

it('LICENSE is MIT, gridlens authors, 2026, as package.json says', () => {
  const license = read('LICENSE');
  assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 gridlens authors\n/);
  assert.equal((JSON.parse(read('package.json')) as { license: string }).license, 'MIT');
});
