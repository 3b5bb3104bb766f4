-- The event log, named checkpoints and the log head.
--
-- Positions are assigned by the writer while it holds the single log_head row
-- locked (SELECT ... FOR UPDATE), so appends from every replica commit one
-- after another and positions are gap-free in commit order.

CREATE TABLE records (
    position BIGINT PRIMARY KEY,
    stream   TEXT   NOT NULL,
    version  BIGINT NOT NULL,
    type     TEXT   NOT NULL,
    data     BYTEA  NOT NULL,
    UNIQUE (stream, version)
);

CREATE TABLE checkpoints (
    name    TEXT   PRIMARY KEY,
    version BIGINT NOT NULL,
    data    BYTEA  NOT NULL
);

CREATE TABLE log_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    position BIGINT  NOT NULL
);

INSERT INTO log_head (only_row, position) VALUES (TRUE, 0);
