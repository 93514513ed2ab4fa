import { redactRequest, redactResponse } from '../../src/auth/log-redaction';
import { resolveRedirect } from '../../src/auth/redirects';

describe('redirects after an email link', () => {
  const policy = {
    siteUrl: 'http://localhost:8888/lab',
    publicUrl: 'http://localhost:8888/insighter',
    extraPrefixes: ['https://workbench.example.org/']
  };

  it.each([
    [undefined, 'http://localhost:8888/lab'],
    [
      'http://localhost:8888/lab/tree?x=1',
      'http://localhost:8888/lab/tree?x=1'
    ],
    [
      'https://workbench.example.org/welcome',
      'https://workbench.example.org/welcome'
    ],
    ['https://evil.example/', 'http://localhost:8888/lab'],
    [
      'https://workbench.example.org.evil.example/',
      'http://localhost:8888/lab'
    ],
    ['http://localhost:9999/', 'http://localhost:8888/lab'],
    ['javascript:alert(1)', 'http://localhost:8888/lab'],
    ['//evil.example/', 'http://localhost:8888/lab'],
    ['not a url', 'http://localhost:8888/lab']
  ])('sends %j to %j', (requested, expected) => {
    expect(resolveRedirect(requested, policy)).toBe(expected);
  });
});

describe('request-log redaction', () => {
  it('hides link tokens and API keys in URLs and query objects', () => {
    const req = redactRequest({
      url: '/auth/v1/verify?token=SECRET&type=signup&apikey=KEY',
      query: { token: 'SECRET', type: 'signup', apikey: 'KEY' }
    });
    expect(JSON.stringify(req)).not.toMatch(/SECRET|KEY/);
    expect(req.query).toEqual({
      token: '[redacted]',
      type: 'signup',
      apikey: '[redacted]'
    });
    expect(req.url).toContain('type=signup');
  });

  it('leaves ordinary requests alone', () => {
    const req = { url: '/api/v1/outbox?limit=5', query: { limit: '5' } };
    expect(redactRequest({ ...req })).toEqual(req);
  });

  it('hides sessions in redirect locations', () => {
    const res = redactResponse({
      headers: {
        location: 'http://x/#access_token=A&refresh_token=B',
        'content-type': 'text/plain'
      }
    });
    expect(res.headers).toEqual({
      location: '[redacted]',
      'content-type': 'text/plain'
    });
    expect(redactResponse({ headers: { location: '/lab' } }).headers).toEqual({
      location: '/lab'
    });
  });
});
