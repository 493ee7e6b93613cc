-- A charge whose reply is lost with the connection (the database or the network dropped after the
-- statement was sent) is "in doubt": it may or may not have committed. The node settles it by
-- inserting a 'void' row under the same task_id (task_id is UNIQUE): if the void goes in, the charge
-- never committed and now never can; if it conflicts, the charge committed. A charge settled too late
-- for its request (the client was already told it failed) is given back by a 'refund' row whose
-- task_id is 'refund:' + the task's, so a task is refunded at most once.
ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check, DROP CONSTRAINT ledger_check;
ALTER TABLE ledger
  ADD CONSTRAINT ledger_kind_check CHECK (kind IN ('credit', 'charge', 'void', 'refund')),
  ADD CONSTRAINT ledger_points_check CHECK (
    (kind IN ('credit', 'refund') AND points > 0) OR (kind = 'charge' AND points < 0) OR (kind = 'void' AND points = 0));
