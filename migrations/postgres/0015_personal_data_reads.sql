-- Who read whose personal data (SPEC §11): counts per engagement, member, reader, kind
-- and day (in the engagement's time zone), written in batches by the servers. Answers a
-- person's access request; holds ids only, no names.
CREATE TABLE personal_data_reads
(
    engagement_id    TEXT   NOT NULL,
    member_id        TEXT   NOT NULL,
    reader_user_id   TEXT   NOT NULL,
    reader_member_id TEXT   NOT NULL,
    kind             TEXT   NOT NULL,
    day              TEXT   NOT NULL,
    reads            BIGINT NOT NULL,
    PRIMARY KEY (engagement_id, member_id, reader_user_id, kind, day)
);
