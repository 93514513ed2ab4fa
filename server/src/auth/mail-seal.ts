import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes
} from 'node:crypto';
import { loadOrCreateSecret } from './keys';

/**
 * Auth mail as the outbox keeps it: sealed (AES-256-GCM) with a key that
 * lives in `<data dir>/secrets/outbox-key` (0600), never in the database.
 *
 * A confirmation or recovery mail carries a live link. The database only
 * holds the SHA-256 of the link's token, but the outbox is the embedded mail
 * catcher and must still show the mail to its reader; written in the clear,
 * the link sat in the table, its WAL and every backup, usable by whoever
 * read them. Sealed, the database, the WAL and a dump hold ciphertext only;
 * the outbox opens a mail when its owner reads it. The mail id is the
 * associated data, so a sealed body cannot be moved onto another mail.
 */
export interface MailBody {
  text: string;
  html: string;
  link: string | null;
}

const KEY_FILE = 'outbox-key';
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class MailSeal {
  private constructor(private readonly key: Buffer) {}

  static async load(dataDir: string): Promise<MailSeal> {
    const secret = await loadOrCreateSecret(dataDir, KEY_FILE, {
      minLength: 32,
      ifShort:
        'delete it to generate a new one (mails in the outbox can then no longer be opened)'
    });
    // The file holds text like the JWT secret; the key is its SHA-256.
    return new MailSeal(createHash('sha256').update(secret).digest());
  }

  seal(mailId: string, body: MailBody): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(mailId));
    const sealed = Buffer.concat([
      cipher.update(JSON.stringify(body), 'utf8'),
      cipher.final()
    ]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url')}`;
  }

  /** The mail's body, or undefined when it was sealed with another key (or changed). */
  open(mailId: string, sealed: string): MailBody | undefined {
    const [version, payload] = sealed.split('.');
    if (version !== VERSION || !payload) {
      return undefined;
    }
    const bytes = Buffer.from(payload, 'base64url');
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        this.key,
        bytes.subarray(0, IV_BYTES)
      );
      decipher.setAAD(Buffer.from(mailId));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const text = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final()
      ]).toString('utf8');
      return JSON.parse(text) as MailBody;
    } catch {
      return undefined;
    }
  }
}
