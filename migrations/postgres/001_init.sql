-- Accounts and an append-only points ledger (PostgreSQL). Same model as migrations/sqlite.
CREATE TABLE accounts (
  id          BIGSERIAL PRIMARY KEY,
  key_hash    TEXT      NOT NULL UNIQUE,
  key_hint    TEXT      NOT NULL,
  name        TEXT      NOT NULL DEFAULT '',
  balance     BIGINT    NOT NULL DEFAULT 0 CHECK (balance >= 0),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at  TIMESTAMPTZ
);

CREATE TABLE ledger (
  id          BIGSERIAL PRIMARY KEY,
  account_id  BIGINT    NOT NULL REFERENCES accounts(id),
  kind        TEXT      NOT NULL CHECK (kind IN ('credit', 'charge')),
  points      BIGINT    NOT NULL CHECK ((kind = 'credit' AND points > 0) OR (kind = 'charge' AND points < 0)),
  task_id     TEXT      UNIQUE,
  note        TEXT      NOT NULL DEFAULT '',
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ledger_account ON ledger(account_id);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'ledger is append-only'; END $$;
CREATE TRIGGER ledger_no_change BEFORE UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
