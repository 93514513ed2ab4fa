import nodemailer from 'nodemailer';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Delivers auth mail. Every mail is first written to the outbox in the same
 * transaction as the change that caused it; `deliver` runs after commit.
 * Embedded default: the outbox is the mailbox (like Supabase's local mail
 * catcher), so there is nothing more to do. With SMTP: send it.
 */
export interface Mailer {
  readonly kind: 'outbox' | 'smtp';
  deliver(mail: MailMessage): Promise<void>;
  close(): void;
}

export function outboxMailer(): Mailer {
  return {
    kind: 'outbox',
    deliver: async () => undefined,
    close: () => undefined
  };
}

export function smtpMailer(url: string, from: string): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    kind: 'smtp',
    async deliver(mail) {
      await transport.sendMail({ from, ...mail });
    },
    close: () => transport.close()
  };
}

export type MailPurpose = 'signup' | 'recovery';

export function composeMail(
  purpose: MailPurpose,
  to: string,
  link: string,
  fullName?: string
): MailMessage {
  const greeting = fullName ? `Hello ${fullName},` : 'Hello,';
  const content =
    purpose === 'signup'
      ? {
          subject: 'Confirm your Insighter account',
          lead: 'Confirm your email address to finish creating your Insighter account.',
          action: 'Confirm my email',
          after:
            'The link works once and expires in 24 hours. If you did not sign up, ignore this mail.'
        }
      : {
          subject: 'Reset your Insighter password',
          lead: 'Someone asked to reset the password of your Insighter account.',
          action: 'Choose a new password',
          after:
            'The link works once and expires in 1 hour. If it was not you, ignore this mail: your password stays as it is.'
        };
  const text = [
    greeting,
    '',
    content.lead,
    '',
    `${content.action}: ${link}`,
    '',
    content.after
  ].join('\n');
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>${escapeHtml(greeting)}</p>
<p>${escapeHtml(content.lead)}</p>
<p><a href="${escapeHtml(link)}">${escapeHtml(content.action)}</a></p>
<p style="color: #666">${escapeHtml(content.after)}</p>
</body></html>`;
  return { to, subject: content.subject, text, html };
}

function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
