import type { Database } from '../db/types';
import type { MailBody, MailSeal } from './mail-seal';
import { getMail, listMail, type OutboxRow } from './outbox';

/** A mail as the outbox shows it to its reader: opened. */
export type OutboxMail = Omit<OutboxRow, 'sealed'> & MailBody;

/** Shown instead of a body the outbox key cannot open (the key file was replaced). */
const UNREADABLE: MailBody = {
  text: 'This mail can no longer be opened: the outbox key (secrets/outbox-key in the data dir) that sealed it is gone. Ask for a new link.',
  html: '<p>This mail can no longer be opened: the outbox key (secrets/outbox-key in the data dir) that sealed it is gone. Ask for a new link.</p>',
  link: null
};

/** Reading the embedded mailbox (what the UI shows, like Supabase's mail catcher). */
export class OutboxService {
  constructor(
    private readonly db: Database,
    private readonly seal: MailSeal
  ) {}

  /** Newest first; bodies left out of the listing. */
  async list(limit: number): Promise<Omit<OutboxMail, 'text' | 'html'>[]> {
    const mails = await this.db.asService(tx => listMail(tx, limit));
    return mails.map(row => {
      const { text: _text, html: _html, ...summary } = this.open(row);
      return summary;
    });
  }

  async get(id: string): Promise<OutboxMail | undefined> {
    const row = await this.db.asService(tx => getMail(tx, id));
    return row && this.open(row);
  }

  private open({ sealed, ...row }: OutboxRow): OutboxMail {
    return { ...row, ...(this.seal.open(row.id, sealed) ?? UNREADABLE) };
  }
}
