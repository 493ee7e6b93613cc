/**
 * gridlens/client: a typed client for the protocol, usable against gridlens or a vendor.
 *
 *   const gl = new GridlensClient({ baseUrl: 'http://localhost:8080', clientKey });
 *   const { solution } = await gl.solve(imageBytes, '/m/015qff', { confidence: 0.5 });
 */
export type Solution =
  | { type: 'multi'; objects: number[]; scores?: number[] }
  | { type: 'single'; hasObject: boolean; scores?: number[] };

export interface TaskResult {
  taskId: string;
  status: 'ready' | 'processing';
  solution: Solution;
}

export interface TaskOptions {
  confidence?: number;
  grid?: '3x3' | '4x4' | '1x1';
  scores?: boolean;
}

/** A protocol error (errorId 1), carrying the server's errorCode and description. */
export class GridlensError extends Error {
  constructor(readonly errorCode: string, readonly errorDescription: string) {
    super(`${errorCode}: ${errorDescription}`);
    this.name = 'GridlensError';
  }
}

export interface ClientOptions {
  baseUrl: string;
  clientKey: string;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class GridlensClient {
  private readonly baseUrl: string;

  constructor(private readonly opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  private async call<T>(path: string, body: Record<string, unknown>): Promise<T> {
    const res = await (this.opts.fetch ?? fetch)(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clientKey: this.opts.clientKey, ...body }),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
    });
    let json: Record<string, unknown>;
    try {
      json = (await res.json()) as Record<string, unknown>;
    } catch {
      throw new GridlensError('ERROR_BAD_RESPONSE', `${path} answered HTTP ${res.status} without a JSON body`);
    }
    if (json.errorId !== 0) throw new GridlensError(String(json.errorCode ?? 'ERROR_UNKNOWN'), String(json.errorDescription ?? ''));
    return json as T;
  }

  /** Create a task; gridlens answers synchronously, so the result is usually ready at once. */
  async createTask(image: Uint8Array | string, question: string, options: TaskOptions = {}): Promise<TaskResult> {
    const b64 = typeof image === 'string' ? image : Buffer.from(image).toString('base64');
    return this.call<TaskResult>('/createTask', { task: { type: 'ReCaptchaV2Classification', image: b64, question, ...options } });
  }

  async getTaskResult(taskId: string): Promise<TaskResult> {
    return this.call<TaskResult>('/getTaskResult', { taskId });
  }

  async getBalance(): Promise<number> {
    return (await this.call<{ balance: number }>('/getBalance', {})).balance;
  }

  /** createTask, then poll getTaskResult while a vendor reports "processing". */
  async solve(image: Uint8Array | string, question: string, options: TaskOptions & { pollMs?: number; maxPolls?: number } = {}): Promise<TaskResult> {
    const { pollMs = 500, maxPolls = 60, ...task } = options;
    let result = await this.createTask(image, question, task);
    for (let i = 0; result.status !== 'ready' && i < maxPolls; i++) {
      await new Promise((r) => setTimeout(r, pollMs));
      result = await this.getTaskResult(result.taskId);
    }
    if (result.status !== 'ready') throw new GridlensError('ERROR_TIMEOUT', `task ${result.taskId} not ready after ${maxPolls} polls`);
    return result;
  }
}
