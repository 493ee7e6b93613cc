/** What the service needs from an account store: SQLite (sqlite-store.ts) or PostgreSQL (postgres-store.ts). */
import type { FeedbackOutcome, FeedbackReport, FeedbackRow, RefundPolicy } from './feedback.js';

export interface Account {
  id: number;
  balance: number;
}

export interface AccountSummary {
  id: number;
  keyHint: string;
  name: string;
  balance: number;
  ledgerSum: number;
  createdAt: string;
  revokedAt: string | null;
}

export interface UsageDay {
  day: string;
  tasks: number;
  points: number;
  refunds: number;
  refundedPoints: number;
}

export interface AccountStore {
  createAccount(points: number, name?: string): Promise<{ clientKey: string; id: number; balance: number }>;
  /** The live (not revoked) account a key names. */
  findByKey(clientKey: string): Promise<Account | undefined>;
  balance(accountId: number): Promise<number>;
  credit(clientKey: string, points: number, note?: string): Promise<number>;
  /** Debit price points for a task atomically; false when the balance does not cover it. */
  charge(accountId: number, points: number, taskId: string): Promise<boolean>;
  revoke(clientKey: string): Promise<boolean>;
  /** By account id (the CLI finds it by name or key prefix). */
  creditAccount(accountId: number, points: number, note?: string): Promise<number>;
  revokeAccount(accountId: number): Promise<boolean>;
  /** Per UTC day from the ledger: tasks charged, points charged, refunds; one account or all, from a day on. */
  usage(opts?: { accountId?: number; since?: string }): Promise<UsageDay[]>;
  list(): Promise<AccountSummary[]>;
  /** Keep a report (once per task); with a policy, refund the task's charge as a ledger row, in the same transaction. */
  addFeedback(report: FeedbackReport, refund?: RefundPolicy): Promise<FeedbackOutcome>;
  /** Every report, oldest first; pictures only when asked for. */
  listFeedback(opts?: { pictures?: boolean }): Promise<FeedbackRow[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
