-- Reports that an answer was wrong (POST /feedbackTask, /reportIncorrectImageCaptcha), kept as
-- labels for the next training run, and refunds for them. Numbered 003 like its PostgreSQL twin
-- (PostgreSQL's 002 settles charges in doubt; SQLite's 002 keeps results across a restart).
-- SQLite cannot change a CHECK constraint in place: the ledger is rebuilt with the 'refund' kind
-- (DROP TABLE fires no DELETE trigger; nothing references ledger).
CREATE TABLE ledger_v3 (
  id          INTEGER PRIMARY KEY,
  account_id  INTEGER NOT NULL REFERENCES accounts(id),
  kind        TEXT    NOT NULL CHECK (kind IN ('credit', 'charge', 'refund')),
  points      INTEGER NOT NULL CHECK ((kind IN ('credit', 'refund') AND points > 0) OR (kind = 'charge' AND points < 0)),
  task_id     TEXT    UNIQUE,            -- a task is charged at most once; a refund's is 'feedback:' + the task's
  note        TEXT    NOT NULL DEFAULT '',
  created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO ledger_v3 (id, account_id, kind, points, task_id, note, created_at)
  SELECT id, account_id, kind, points, task_id, note, created_at FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_v3 RENAME TO ledger;
CREATE INDEX ledger_account ON ledger(account_id);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;

CREATE TABLE feedback (
  id          INTEGER PRIMARY KEY,
  task_id     TEXT    NOT NULL UNIQUE,   -- a task is reported at most once
  account_id  INTEGER NOT NULL REFERENCES accounts(id),
  source      TEXT    NOT NULL,          -- feedbackTask | reportIncorrectImageCaptcha
  kind        TEXT    NOT NULL CHECK (kind IN ('3x3', '4x4', '1x1')),
  question    TEXT    NOT NULL,          -- question ID, e.g. /m/0k4j
  class       TEXT    NOT NULL,          -- the model's class for it, e.g. car
  picture     BLOB,                      -- the picture as sent; NULL when it had left memory before the report
  answer      TEXT    NOT NULL,          -- our solution, JSON
  correction  TEXT,                      -- the user's right cells, JSON {"objects": [...]} or {"hasObject": b}; NULL: only "wrong"
  invalid     INTEGER NOT NULL,          -- 1: the user says our answer did not pass
  code        TEXT    NOT NULL DEFAULT '',
  message     TEXT    NOT NULL DEFAULT '',
  refunded    INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX feedback_account ON feedback(account_id);
