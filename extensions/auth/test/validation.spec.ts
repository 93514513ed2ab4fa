import { nullTranslator } from '@jupyterlab/translation';
import { readLinkFragment } from '../src/sessionmodel';
import { MemoryStorage, RememberMeStorage } from '../src/storage';
import {
  passwordError,
  validateLogIn,
  validateNewPassword,
  validateSignUp
} from '../src/validation';

const trans = nullTranslator.load('insighter');

describe('form validation mirrors the server', () => {
  it.each([
    ['short1', 'Use at least 8 characters, with letters and digits.'],
    ['lettersonly', 'Use letters and digits in your password.'],
    ['12345678', 'Use letters and digits in your password.'],
    ['x'.repeat(72) + '1', 'Use at most 72 characters.']
  ])('refuses the password %j', (password, message) => {
    expect(passwordError(password, trans)).toBe(message);
  });

  it.each(['abcdefg1', 'Ünïcödé9x', 'correct horse 1'])(
    'accepts the password %j',
    password => {
      expect(passwordError(password, trans)).toBeUndefined();
    }
  );

  it('accepts a complete sign-up', () => {
    expect(
      validateSignUp(
        {
          fullName: 'Ada Lovelace',
          email: ' Ada@Example.com ',
          password: 'engine1843',
          confirm: 'engine1843'
        },
        trans
      )
    ).toEqual({});
  });

  it('asks only for presence at log-in (older passwords stay usable)', () => {
    expect(
      validateLogIn({ email: 'ada@example.com', password: 'x' }, trans)
    ).toEqual({});
    expect(validateLogIn({ email: '', password: '' }, trans)).toEqual({
      email: 'Enter your email address.',
      password: 'Enter your password.'
    });
  });

  it('wants a new password twice', () => {
    expect(
      validateNewPassword(
        { password: 'engine1843', confirm: 'engine1844' },
        trans
      )
    ).toEqual({ confirm: 'The two passwords differ.' });
  });
});

describe('readLinkFragment', () => {
  it('reads a confirmation link that brought a session', () => {
    expect(
      readLinkFragment(
        'http://h/lab#access_token=a.b.c&expires_at=1&expires_in=3600&refresh_token=r&token_type=bearer&type=signup&sb='
      )
    ).toEqual({ type: 'signup', error: null });
  });

  it('reads a failed link', () => {
    expect(
      readLinkFragment(
        'http://h/lab#error=access_denied&error_code=otp_expired&error_description=Email+link+is+invalid+or+has+expired'
      )
    ).toEqual({ type: null, error: 'Email link is invalid or has expired' });
  });

  it('ignores other fragments and plain URLs', () => {
    expect(readLinkFragment('http://h/lab#section-2')).toBeNull();
    expect(readLinkFragment('http://h/lab')).toBeNull();
    expect(readLinkFragment(undefined)).toBeNull();
  });
});

describe('RememberMeStorage', () => {
  it('keeps the session where the preference says and moves it when it changes', () => {
    const persistent = new MemoryStorage();
    const tab = new MemoryStorage();
    const storage = new RememberMeStorage(persistent, tab);
    storage.setItem('insighter-auth', 'session');
    expect(persistent.getItem('insighter-auth')).toBe('session');

    storage.setRemember(false, ['insighter-auth', 'insighter-auth-user']);
    expect(persistent.getItem('insighter-auth')).toBeNull();
    expect(tab.getItem('insighter-auth')).toBe('session');
    expect(storage.getItem('insighter-auth')).toBe('session');

    persistent.setItem('insighter-auth', 'stale');
    storage.removeItem('insighter-auth');
    expect(persistent.getItem('insighter-auth')).toBeNull();
    expect(tab.getItem('insighter-auth')).toBeNull();
  });
});
