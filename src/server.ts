#!/usr/bin/env node
/** Runs the service process: `npm start` or `gridlens serve`. */
import { loadConfig, type Config } from './config.js';
import { buildService } from './app.js';

export async function serve(config: Config): Promise<void> {
  const service = await buildService(config);
  const stop = async (signal: string) => {
    service.app.log.info({ signal }, 'shutting down');
    await service.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
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
