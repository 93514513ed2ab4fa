import type { Queryable } from '../db/types';

/**
 * A mail as `auth.insighter_mail_outbox` keeps it (SQL lives here only): its
 * body and link sealed (see mail-seal.ts), the rest in the clear.
 */
export interface OutboxRow {
  id: string;
  user_id: string | null;
  purpose: string;
  to: string;
  subject: string;
  /** Text, HTML and link, sealed with the outbox key. */
  sealed: string;
  status: 'stored' | 'pending' | 'sent' | 'failed';
  error: string | null;
  created_at: string;
  sent_at: string | null;
}

export type NewMail = Pick<
  OutboxRow,
  'id' | 'purpose' | 'to' | 'subject' | 'sealed'
> & {
  userId: string;
  status: 'stored' | 'pending';
};

const COLUMNS = `id, user_id, purpose, to_email as "to", subject, sealed, status,
  error, created_at, sent_at`;

export async function insertMail(tx: Queryable, mail: NewMail): Promise<void> {
  await tx.query(
    `insert into auth.insighter_mail_outbox
       (id, user_id, purpose, to_email, subject, sealed, status)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [
      mail.id,
      mail.userId,
      mail.purpose,
      mail.to,
      mail.subject,
      mail.sealed,
      mail.status
    ]
  );
}

export async function listMail(
  tx: Queryable,
  limit: number
): Promise<OutboxRow[]> {
  const { rows } = await tx.query<OutboxRow>(
    `select ${COLUMNS} from auth.insighter_mail_outbox
      order by created_at desc, id desc limit $1`,
    [limit]
  );
  return rows.map(normalize);
}

export async function getMail(
  tx: Queryable,
  id: string
): Promise<OutboxRow | undefined> {
  const { rows } = await tx.query<OutboxRow>(
    `select ${COLUMNS} from auth.insighter_mail_outbox where id = $1`,
    [id]
  );
  return rows[0] && normalize(rows[0]);
}

export async function setMailStatus(
  tx: Queryable,
  id: string,
  status: 'sent' | 'failed',
  error?: string
): Promise<void> {
  await tx.query(
    `update auth.insighter_mail_outbox
        set status = $2, error = $3, sent_at = case when $2 = 'sent' then now() end
      where id = $1`,
    [id, status, error ?? null]
  );
}

function normalize(row: OutboxRow): OutboxRow {
  return {
    ...row,
    created_at: iso(row.created_at)!,
    sent_at: iso(row.sent_at)
  };
}

function iso(value: unknown): string | null {
  if (value === null || value === undefined) {
    return null;
  }
  return value instanceof Date
    ? value.toISOString()
    : new Date(String(value)).toISOString();
}
