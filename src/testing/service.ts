/** A service on the colour fixture model with an in-memory SQLite store, for app.inject tests. */
import path from 'node:path';
import { PROJECT_ROOT, loadConfig, type SettingName } from '../config.js';
import { buildService, type Service } from '../app.js';

export const FIXTURE_MODEL = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tiny-model');
/** A 4x4 picture model of the same colour rule, scoring each square of the whole picture (training/make_fixture.py). */
export const FIXTURE_GRID4_MODEL = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tiny-grid4');

export async function testService(overrides: Partial<Record<SettingName, string | number | boolean>> = {}, logStream?: NodeJS.WritableStream): Promise<Service> {
  const config = loadConfig({ modelDir: FIXTURE_MODEL, modelDir4x4: '', dbPath: ':memory:', inferenceWorkers: 1, logLevel: 'silent', ...overrides }, {});
  return buildService(config, { logStream });
}

export interface Envelope {
  errorId: number;
  errorCode: string;
  errorDescription: string;
  [k: string]: unknown;
}

export async function post(service: Service, url: string, payload: unknown, headers: Record<string, string> = {}): Promise<Envelope & { statusCode: number }> {
  const res = await service.app.inject({
    method: 'POST', url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
  });
  return { ...(res.json() as Envelope), statusCode: res.statusCode };
}
