#!/usr/bin/env node
/** Runs the service process: `npm start` or `gridlens serve`. */
import { ConfigError, loadConfig, type Config } from './config.js';
import { buildService } from './app.js';
import { disableOrtTelemetry } from './inference/no-telemetry.js';

/** A listen() failure as the setting that caused it: which PORT/HOST, and what is allowed. */
function listenError(err: Error & { code?: string }, config: Config): Error {
  const where = `PORT ${config.port} on HOST ${config.host}`;
  if (err.code === 'EADDRINUSE') return new ConfigError(`${where} is already in use (EADDRINUSE): set PORT to a free port (an integer from 0 to 65535; 0 picks any free one) or stop the process holding it`);
  if (err.code === 'EACCES') return new ConfigError(`${where} needs privileges (EACCES): set PORT to 1024 or above (up to 65535)`);
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') return new ConfigError(`HOST ${JSON.stringify(config.host)} is not an address of this machine (${err.code}): use 0.0.0.0 (every interface), 127.0.0.1, or one of this machine's addresses`);
  return err;
}

export async function serve(config: Config): Promise<void> {
  disableOrtTelemetry(); // the pool sets it again before each worker; here it also covers anything loaded first
  const service = await buildService(config);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      service.app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    service.app.log.info({ signal, inFlight: service.inFlight.size, connections: service.connections.open, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    // a backstop in case a native teardown hangs: the bound holds whatever happens
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 2000).unref();
    const clean = await service.shutdown(config.shutdownTimeoutMs).catch(() => false);
    service.app.log.info({ clean }, 'stopped');
    process.exit(clean ? 0 : 1);
  };
  // process.on, not once: a second signal must reach stop() and exit at once
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  try {
    await service.app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await service.close().catch(() => undefined);
    throw listenError(err as Error, config);
  }
  const { manifest } = service.solver.modelFor('3x3').model;
  service.app.log.info({ model: `${manifest.name}@${manifest.version}`, db: config.dbPath }, 'gridlens ready');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // A start-up or configuration error is one line naming the setting, exit code 2, no stack trace.
  Promise.resolve().then(() => serve(loadConfig())).catch((err: Error) => {
    console.error(`gridlens: ${err.message}`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
}
