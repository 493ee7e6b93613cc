/** RedisResults keeps a task's picture and question beside its result, for the same TTL and key. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisResults, connectRedis } from './redis-shared.js';

async function redisUnreachable(): Promise<string | false> {
  const r = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return false;
  } catch (err) {
    return `Redis at 127.0.0.1:6379 unreachable (${(err as Error).message})`;
  } finally {
    r.disconnect();
  }
}

it('a task\'s picture and question travel with its result in Redis, only for its account', { skip: await redisUnreachable() }, async () => {
  const redis = connectRedis('redis://127.0.0.1:6379');
  if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r)); // no offline queue: wait for the connection
  const prefix = `gridlens-test-${process.pid}-${Date.now()}:`;
  const results = new RedisResults(redis, prefix, 60);
  try {
    const picture = Buffer.from([0, 1, 2, 250, 255]);
    await results.put('t1', 7, { type: 'multi', objects: [1, 2] }, { kind: '3x3', questionId: '/m/0k4j', className: 'car', picture });
    const got = await results.task('t1', 7);
    assert.deepEqual(got?.solution, { type: 'multi', objects: [1, 2] });
    assert.deepEqual({ ...got?.context, picture: undefined }, { kind: '3x3', questionId: '/m/0k4j', className: 'car', picture: undefined });
    assert.ok(got?.context?.picture?.equals(picture));
    assert.equal(await results.task('t1', 8), undefined);
    assert.ok((await redis.ttl(`${prefix}task:t1`)) > 50, 'the picture expires with the result');
  } finally {
    await redis.del(`${prefix}task:t1`);
    redis.disconnect();
  }
});
