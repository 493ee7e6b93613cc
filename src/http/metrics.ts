/** Prometheus metrics (prom-client) on a registry of our own, served at GET /metrics. */
import client from 'prom-client';

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const requests = new client.Counter({ name: 'gridlens_requests_total', help: 'Protocol requests by endpoint and error code ("" = success)', labelNames: ['endpoint', 'error_code'], registers: [registry] });
  const latency = new client.Histogram({ name: 'gridlens_task_seconds', help: 'createTask latency of successful tasks by image kind', labelNames: ['kind'], buckets: [0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 1], registers: [registry] });
  const batch = new client.Histogram({ name: 'gridlens_inference_batch_size', help: 'Tiles per inference batch', buckets: [1, 9, 16, 32], registers: [registry] });
  const inference = new client.Histogram({ name: 'gridlens_inference_seconds', help: 'onnxruntime run() time per batch', buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064], registers: [registry] });
  const charged = new client.Counter({ name: 'gridlens_points_charged_total', help: 'Points charged for successful tasks', labelNames: ['kind'], registers: [registry] });
  const model = new client.Gauge({ name: 'gridlens_model_info', help: 'Loaded models (value 1)', labelNames: ['name', 'version', 'sha256'], registers: [registry] });
  const clientErrors = new client.Counter({ name: 'gridlens_http_client_errors_total', help: 'Connections ended at the HTTP layer, by reason (timeouts, malformed HTTP, max_connections, client_aborted)', labelNames: ['reason'], registers: [registry] });
  const decodes = new client.Histogram({ name: 'gridlens_decode_seconds', help: 'Pixel decodes by size (large: over 450x450, gated by DECODE_CONCURRENCY/DECODE_PER_KEY), seconds including the wait', labelNames: ['size'], buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 8], registers: [registry] });
  const dbBusy = new client.Counter({ name: 'gridlens_db_busy_total', help: 'Requests answered ERROR_NO_SLOT_AVAILABLE because the PostgreSQL pool was saturated (queue_full, wait_timeout); nothing charged', labelNames: ['reason'], registers: [registry] });
  return { registry, requests, clientErrors, decodes, dbBusy, latency, batch, inference, charged, model };
}

export type Metrics = ReturnType<typeof createMetrics>;
