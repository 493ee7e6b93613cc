/** Start `node dist/src/server.js` as a child process (benchmarks, multi-node tests). */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';

export interface NodeProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** Send a signal; resolves with the exit code and how long the exit took, ms. */
  signal(sig: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** root: the project whose build to start (the benchmark's reference build lives in another folder). */
export async function startNode(env: Record<string, string>, root = PROJECT_ROOT): Promise<NodeProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'dist', 'src', 'server.js')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) {
        return {
          url, pid: child.pid!,
          stop: async () => { child.kill('SIGTERM'); await exited; },
          signal: async (sig) => {
            const t = Date.now();
            child.kill(sig);
            await exited;
            return { code: child.exitCode, ms: Date.now() - t };
          },
        };
      }
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('server did not start within 15 s');
}

export interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node dist/src/server.js` (or another script under dist/) until it exits by itself; killed after timeoutMs. */
export async function runUntilExit(env: Record<string, string>, script = ['src', 'server.js'], args: string[] = [], timeoutMs = 30_000): Promise<Exited> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', ...script), ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
