/**
 * The three protocol operations over the domain pieces. A request's path: account check →
 * limits → decode and pick the grid → solver (tensor batch → inference worker → cells) →
 * charge on success → store the result → reply.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Account, AccountStore } from '../accounts/store.js';
import type { KeyLimits, RateLimiter } from '../accounts/limits.js';
import { ProtocolError } from '../protocol/errors.js';
import { asBody, clientKeyOf, parseCreateTask, taskIdOf } from '../protocol/requests.js';
import { decodeBase64, decodePicture, readHeader, SMALL_PICTURE_PIXELS, type Picture, type PictureHeader } from '../imaging/decode.js';
import { DecodeGate } from '../imaging/decode-gate.js';
import type { GridKind } from '../imaging/grid.js';
import type { Solver } from '../solver/solver.js';
import type { Solution } from '../solver/select-cells.js';
import type { TaskResults } from './result-store.js';
import type { FeedbackSource } from '../accounts/feedback.js';
import { correctionFor, parseFeedback } from '../protocol/feedback-requests.js';

export interface TaskReply {
  status: 'ready';
  taskId: string;
  solution: Solution;
}

export interface TaskHooks {
  /** Called once per successful task: kind, points charged, milliseconds spent. */
  onSolved(kind: GridKind, points: number, ms: number): void;
  /** Called once per pixel decode: whether it was large (gated), milliseconds including the wait. */
  onDecode?(large: boolean, ms: number): void;
}

export interface TaskServiceDeps {
  config: Config;
  accounts: AccountStore;
  /** Tasks in flight per key: always this process's. */
  limits: KeyLimits;
  /** Requests per second per key: this process's, or shared through Redis. */
  rate: RateLimiter;
  solver: Solver;
  results: TaskResults;
  hooks?: TaskHooks;
}

export class TaskService {
  /** Bounds large pixel decodes per process and per key (DECODE_CONCURRENCY, DECODE_PER_KEY). */
  readonly decodeGate: DecodeGate;

  constructor(private readonly d: TaskServiceDeps) {
    this.decodeGate = new DecodeGate(d.config.decodeConcurrency, d.config.decodePerKey);
  }

  priceOf(kind: GridKind): number {
    const { price3x3, price4x4, price1x1 } = this.d.config;
    return kind === '3x3' ? price3x3 : kind === '4x4' ? price4x4 : price1x1;
  }

  async account(body: unknown): Promise<Account> {
    const key = clientKeyOf(asBody(body));
    const account = await this.d.accounts.findByKey(key);
    if (!account) throw new ProtocolError('ERROR_KEY_DOES_NOT_EXIST', 'clientKey does not name a live account (unknown or revoked key)');
    return account;
  }

  async createTask(body: unknown): Promise<TaskReply> {
    const started = performance.now();
    const account = await this.account(body);
    await this.d.rate.hit(account.id);
    const input = parseCreateTask(asBody(body));
    const leave = this.d.limits.enter(account.id);
    try {
      // Cheap checks first (issue 19): nothing below costs a pixel decode until the key, its
      // balance, the question and the picture's header have all passed.
      const { maxImagePixels } = this.d.config;
      const cheapest = Math.min(this.priceOf('3x3'), this.priceOf('4x4'), this.priceOf('1x1'));
      if (account.balance < cheapest) throw zeroBalance(cheapest);
      const bytes = decodeBase64(input.image);
      const header = await readHeader(bytes, input.grid, maxImagePixels, input.promptGrid);
      // the class that answers and the price, for a kind: unanswerable questions fail before the balance check
      const afford = async (kind: GridKind) => {
        const className = this.d.solver.classFor(input.question, kind);
        const price = this.priceOf(kind);
        if ((await this.d.accounts.balance(account.id)) < price) throw zeroBalance(price);
        return { className, price };
      };
      const known = header.kind ? await afford(header.kind) : undefined;
      const picture = await this.decode(header, account.id);
      // a screenshot whose kind only its pixels tell (detect-grid.ts) is checked once decoded
      const { className, price } = known && picture.kind === header.kind ? known : await afford(picture.kind);
      const { solution } = await this.d.solver.solve(picture, input.question, { confidence: input.confidence, withScores: input.scores });
      const taskId = randomUUID();
      // Stored first, then charged by a conditional debit (concurrent tasks cannot overdraw);
      // if the charge fails the stored result is withdrawn: a failed task costs nothing.
      // the picture and question stay beside the result, so that a report can become a label
      await this.d.results.put(taskId, account.id, solution, { kind: picture.kind, questionId: input.question.id, className, picture: bytes });
      const charged = await this.d.accounts.charge(account.id, price, taskId).catch(async (err: unknown) => {
        await this.d.results.delete(taskId).catch(() => undefined);
        throw err;
      });
      if (!charged) {
        await this.d.results.delete(taskId).catch(() => undefined);
        throw zeroBalance(price);
      }
      this.d.hooks?.onSolved(picture.kind, price, performance.now() - started);
      return { status: 'ready', taskId, solution };
    } finally {
      leave();
    }
  }

  /** Pixels: a large picture waits for the decode gate (per process, per key); a small one never does. */
  private async decode(header: PictureHeader, accountId: number): Promise<Picture> {
    const large = header.width * header.height > SMALL_PICTURE_PIXELS;
    const started = performance.now();
    const release = large ? await this.decodeGate.acquire(accountId) : () => undefined;
    try {
      return await decodePicture(header, this.d.config.maxImagePixels);
    } finally {
      release();
      this.d.hooks?.onDecode?.(large, performance.now() - started);
    }
  }

  async getTaskResult(body: unknown): Promise<TaskReply> {
    const account = await this.account(body);
    await this.d.rate.hit(account.id);
    const taskId = taskIdOf(asBody(body));
    const solution = await this.d.results.get(taskId, account.id);
    if (!solution) throw noSuchTask(taskId, this.d.config.taskTtlSeconds);
    return { status: 'ready', taskId, solution };
  }

  /**
   * A report that a task's answer was wrong (feedbackTask, reportIncorrectImageCaptcha): only by the
   * key that made the task, once, while its result is kept. Stored with the picture as a label; with
   * FEEDBACK_REFUND on, the task's charge is given back (a ledger row), up to the daily cap.
   */
  async reportTask(body: unknown, source: FeedbackSource): Promise<{ refunded: number }> {
    const account = await this.account(body);
    await this.d.rate.hit(account.id);
    const input = parseFeedback(asBody(body), source === 'feedbackTask');
    const task = await this.d.results.task(input.taskId, account.id);
    if (!task?.context) throw noSuchTask(input.taskId, this.d.config.taskTtlSeconds);
    const { context } = task;
    const correction = correctionFor(input, context.kind)
      ?? (input.invalid ? undefined : task.solution.type === 'single' ? { hasObject: task.solution.hasObject } : { objects: task.solution.objects });
    const { scores: _scores, ...answer } = task.solution;
    const { config } = this.d;
    const outcome = await this.d.accounts.addFeedback({
      taskId: input.taskId, accountId: account.id, source, kind: context.kind, questionId: context.questionId, className: context.className,
      picture: context.picture, answer, correction, invalid: input.invalid, code: input.code, message: input.message,
    }, config.feedbackRefund ? { maxPerDay: config.feedbackRefundMaxPerDay } : undefined);
    if (!outcome.stored) throw new ProtocolError('ERROR_NO_SUCH_CAPCHA_ID', `taskId ${JSON.stringify(input.taskId.slice(0, 64))} was already reported; a task can be reported once`);
    return { refunded: outcome.refunded };
  }

  /**
   * The YesCaptcha client's get_soft_id(): the vendor's developer ID for its revenue-share programme.
   * gridlens has no such programme; the account's id answers, stable for the key.
   */
  async getSoftId(body: unknown): Promise<{ softID: number }> {
    const account = await this.account(body);
    return { softID: account.id };
  }

  async getBalance(body: unknown): Promise<{ balance: number }> {
    const account = await this.account(body);
    return { balance: await this.d.accounts.balance(account.id) };
  }
}

function noSuchTask(taskId: string, ttl: number): ProtocolError {
  return new ProtocolError('ERROR_NO_SUCH_CAPCHA_ID', `taskId ${JSON.stringify(taskId.slice(0, 64))} is unknown, expired (results are kept ${ttl} s) or belongs to another key`);
}

function zeroBalance(price: number): ProtocolError {
  return new ProtocolError('ERROR_ZERO_BALANCE', `the balance is below this task's price of ${price} points; credit the key (gridlens keys credit KEY --points N)`);
}
