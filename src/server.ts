#!/usr/bin/env node
/** Runs the service process: `npm start` or `gridlens serve`. */
import { loadConfig, type Config } from './config.js';
import { buildService } from './app.js';
import { disableOrtTelemetry } from './inference/no-telemetry.js';

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
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await service.app.listen({ port: config.port, host: config.host });
  const { manifest } = service.solver.modelFor('3x3').model;
  service.app.log.info({ model: `${manifest.name}@${manifest.version}`, db: config.dbPath }, 'gridlens ready');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve(loadConfig()).catch((err: Error) => {
    console.error(`gridlens: ${err.message}`);
    process.exit(1);
  });
}
