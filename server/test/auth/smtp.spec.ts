import net from 'node:net';
import {
  GOOD_PASSWORD,
  startAuthTestServer,
  uniqueEmail,
  type AuthTestServer
} from './support';

/**
 * A minimal SMTP server (no TLS, no auth): enough for nodemailer to deliver
 * to, and to refuse recipients on demand.
 */
class TestSmtpServer {
  readonly received: Array<{ from: string; to: string[]; data: string }> = [];
  refuseRecipients = false;
  private server = net.createServer(socket => this.session(socket));

  async start(): Promise<number> {
    await new Promise<void>(resolve =>
      this.server.listen(0, '127.0.0.1', resolve)
    );
    return (this.server.address() as net.AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise(resolve => this.server.close(() => resolve()));
  }

  private session(socket: net.Socket): void {
    let buffer = '';
    let inData = false;
    let mail = { from: '', to: [] as string[], data: '' };
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 test.local ESMTP');
    socket.on('data', chunk => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end === -1) {
            return;
          }
          mail.data = buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          inData = false;
          this.received.push(mail);
          mail = { from: '', to: [], data: '' };
          reply('250 2.0.0 queued');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol === -1) {
          return;
        }
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') {
          reply('250-test.local');
          reply('250 8BITMIME');
        } else if (verb === 'MAIL') {
          mail.from = line;
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          if (this.refuseRecipients) {
            reply('550 5.1.1 mailbox unavailable');
          } else {
            mail.to.push(line);
            reply('250 2.1.5 ok');
          }
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead');
        } else if (verb === 'RSET' || verb === 'NOOP') {
          reply('250 ok');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
          return;
        } else {
          reply('502 5.5.2 not implemented');
        }
      }
    });
  }
}

describe('auth mail over SMTP (INSIGHTER_SMTP_URL)', () => {
  const smtp = new TestSmtpServer();
  let t: AuthTestServer;

  beforeAll(async () => {
    const port = await smtp.start();
    t = await startAuthTestServer({
      env: {
        INSIGHTER_SMTP_URL: `smtp://127.0.0.1:${port}`,
        INSIGHTER_SMTP_FROM: 'Insighter <auth@insighter.test>'
      }
    });
  });
  afterAll(async () => {
    await t?.close();
    await smtp.stop();
  });

  it('sends the confirmation mail and records it as sent', async () => {
    const email = uniqueEmail('smtp');
    const { error } = await t.client().auth.signUp({
      email,
      password: GOOD_PASSWORD,
      options: { data: { full_name: 'Sam Tp' } }
    });
    expect(error).toBeNull();
    const delivered = smtp.received.find(m =>
      m.to.some(to => to.includes(email))
    );
    expect(delivered).toBeDefined();
    expect(delivered!.from).toContain('auth@insighter.test');
    expect(delivered!.data).toContain(
      'Subject: Confirm your Insighter account'
    );
    const [record] = await t.outbox();
    expect(record).toMatchObject({ to: email, status: 'sent' });
    // The link in the delivered mail is the one that confirms (quoted-printable soft breaks undone).
    const body = delivered!.data.replace(/=\r\n/g, '').replace(/=3D/g, '=');
    expect(body).toContain(record.link);
  });

  it('undoes the sign-up when the mail cannot be sent, so it can be retried', async () => {
    const email = uniqueEmail('bounce');
    smtp.refuseRecipients = true;
    try {
      const res = await t.request('/auth/v1/signup', {
        method: 'POST',
        json: { email, password: GOOD_PASSWORD, data: { full_name: 'Bou Nce' } }
      });
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({
        code: 'unexpected_failure',
        message: 'Error sending confirmation email'
      });
      const users = await t.db.asService(tx =>
        tx.query('select id from auth.users where email = $1', [email])
      );
      expect(users.rows).toEqual([]);
    } finally {
      smtp.refuseRecipients = false;
    }
    const retry = await t.request('/auth/v1/signup', {
      method: 'POST',
      json: { email, password: GOOD_PASSWORD, data: { full_name: 'Bou Nce' } }
    });
    expect(retry.status).toBe(200);
  });
});
