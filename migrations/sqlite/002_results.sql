-- Finished task results, so getTaskResult answers across a restart (issue 19, case 9): the
-- protocol keeps a result readable for at least 5 minutes. Rows past expires_at are swept.
CREATE TABLE results (
  task_id     TEXT    PRIMARY KEY,
  account_id  INTEGER NOT NULL,
  solution    TEXT    NOT NULL,          -- the solution as JSON
  expires_at  INTEGER NOT NULL           -- milliseconds since the epoch
);
CREATE INDEX results_expiry ON results(expires_at);
