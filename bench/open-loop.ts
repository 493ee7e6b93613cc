/**
 * Open-loop load: `clients` independent clients, each on its own keep-alive connection, each
 * sending its requests at Poisson-distributed times so that together they offer `rate`
 * requests/s. A client has at most one request in flight (as a vendor SDK does); when an answer
 * comes late, the next request goes out as soon as it arrives and its latency still counts from
 * the time it was due, so a backlog shows up in the figures (no coordinated omission).
 *
 * Why not autocannon's `overallRate`: its clients send their whole per-second quota back to back
 * at the start of every second and then idle (autocannon/lib/httpClient.js `reqsMadeThisSecond`),
 * which is a saturating burst once a second, not a rate.
 */
import http from 'node:http';
import { seededRandom } from '../src/eval/rng.js';

export interface OpenLoopResult {
  /** Milliseconds from when each request was due to its last response byte, ascending. */
  latencies: number[];
  errors: number;
  non2xx: number;
  /** From the first request due to the last answer: longer than asked when a backlog drained after the end. */
  elapsedSeconds: number;
}

function post(agent: http.Agent, target: URL, payload: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function openLoop(url: string, body: string, clients: number, rate: number, seconds: number, seed = 1): Promise<OpenLoopResult> {
  const target = new URL(url);
  const payload = Buffer.from(body);
  const meanGapMs = (clients * 1000) / rate;
  const start = performance.now() + 20;
  const end = start + seconds * 1000;
  const result: OpenLoopResult = { latencies: [], errors: 0, non2xx: 0, elapsedSeconds: seconds };
  const client = async (i: number) => {
    const rand = seededRandom(seed * 1000 + i);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let due = start - Math.log(1 - rand()) * meanGapMs; due < end; due -= Math.log(1 - rand()) * meanGapMs) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      try {
        if ((await post(agent, target, payload)) !== 200) result.non2xx++;
        result.latencies.push(performance.now() - due);
      } catch {
        result.errors++;
      }
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  result.elapsedSeconds = Math.max(seconds, (performance.now() - start) / 1000);
  result.latencies.sort((a, b) => a - b);
  return result;
}

/** The q-quantile (0-1) of ascending values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
