import type { Database } from '../db/types';
import { getMail, listMail, type OutboxMail } from './outbox';

/** Reading the embedded mailbox (what the UI shows, like Supabase's mail catcher). */
export class OutboxService {
  constructor(private readonly db: Database) {}

  /** Newest first; bodies left out of the listing. */
  async list(limit: number): Promise<Omit<OutboxMail, 'text' | 'html'>[]> {
    const mails = await this.db.asService(tx => listMail(tx, limit));
    return mails.map(({ text: _text, html: _html, ...summary }) => summary);
  }

  get(id: string): Promise<OutboxMail | undefined> {
    return this.db.asService(tx => getMail(tx, id));
  }
}
