import { ProtocolError } from '../protocol/errors.js';

/** A shared dependency (PostgreSQL, Redis) failed: the vendor's ERROR_SERVICE_UNAVALIABLE (sic), nothing charged. */
export function unavailable(what: 'database' | 'cache', err: unknown): ProtocolError {
  const reason = err instanceof Error ? err.message.split('\n')[0]!.slice(0, 120) : String(err);
  return new ProtocolError('ERROR_SERVICE_UNAVALIABLE', `the ${what} is unreachable (${reason}); nothing was charged, retry shortly`);
}

/** Run a dependency call, turning its failures into ERROR_SERVICE_UNAVALIABLE. */
export async function guarded<T>(what: 'database' | 'cache', run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ProtocolError || err instanceof RangeError) throw err; // a refused value, not an outage
    throw unavailable(what, err);
  }
}
