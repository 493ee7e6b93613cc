-- Accounts and an append-only points ledger. The balance column is kept in step with the
-- ledger inside the same transaction; the CHECK makes a negative balance impossible.
CREATE TABLE accounts (
  id          INTEGER PRIMARY KEY,
  key_hash    TEXT    NOT NULL UNIQUE,   -- sha256 of the client key; the key itself is never stored
  key_hint    TEXT    NOT NULL,          -- first 6 characters, to recognise a key in listings
  name        TEXT    NOT NULL DEFAULT '',
  balance     INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
  created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  revoked_at  TEXT
);

CREATE TABLE ledger (
  id          INTEGER PRIMARY KEY,
  account_id  INTEGER NOT NULL REFERENCES accounts(id),
  kind        TEXT    NOT NULL CHECK (kind IN ('credit', 'charge')),
  points      INTEGER NOT NULL CHECK ((kind = 'credit' AND points > 0) OR (kind = 'charge' AND points < 0)),
  task_id     TEXT    UNIQUE,            -- a task is charged at most once
  note        TEXT    NOT NULL DEFAULT '',
  created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX ledger_account ON ledger(account_id);

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
