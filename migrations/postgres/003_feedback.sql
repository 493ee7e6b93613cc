-- Reports that an answer was wrong (POST /feedbackTask, /reportIncorrectImageCaptcha), kept as
-- labels for the next training run. Refunds for them are 'refund' rows (002) whose task_id is
-- 'feedback:' + the task's, so a task is refunded for a report at most once.
CREATE TABLE feedback (
  id          BIGSERIAL PRIMARY KEY,
  task_id     TEXT      NOT NULL UNIQUE,
  account_id  BIGINT    NOT NULL REFERENCES accounts(id),
  source      TEXT      NOT NULL,
  kind        TEXT      NOT NULL CHECK (kind IN ('3x3', '4x4', '1x1')),
  question    TEXT      NOT NULL,
  class       TEXT      NOT NULL,
  picture     BYTEA,
  answer      TEXT      NOT NULL,
  correction  TEXT,
  invalid     BOOLEAN   NOT NULL,
  code        TEXT      NOT NULL DEFAULT '',
  message     TEXT      NOT NULL DEFAULT '',
  refunded    BIGINT    NOT NULL DEFAULT 0,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX feedback_account ON feedback(account_id);
