-- Auth mail in the outbox is sealed (AES-256-GCM, the key in the data dir's
-- secrets/outbox-key): the database, its WAL and its backups no longer hold
-- a usable confirmation or recovery link (server/src/auth/mail-seal.ts).

-- Links written before this held live tokens in the clear, in the table and
-- in the WAL: every pending link stops working (people ask for a new one),
-- and the mails that carried them go.
delete from auth.insighter_one_time_tokens;
delete from auth.insighter_mail_outbox;

alter table auth.insighter_mail_outbox
  drop column text_body,
  drop column html_body,
  drop column link,
  add column sealed text not null;
