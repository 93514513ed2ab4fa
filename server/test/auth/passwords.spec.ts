import {
  hashPassword,
  needsRehash,
  passwordWeakness,
  verifyAgainstDecoy,
  verifyPassword
} from '../../src/auth/passwords';

describe('password hashing', () => {
  it('stores argon2id PHC strings that verify only the right password', async () => {
    const stored = await hashPassword('correct-horse-42');
    expect(stored).toMatch(
      /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/
    );
    await expect(verifyPassword(stored, 'correct-horse-42')).resolves.toBe(
      true
    );
    await expect(verifyPassword(stored, 'correct-horse-43')).resolves.toBe(
      false
    );
    expect(needsRehash(stored)).toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([
      hashPassword('same-pass-1'),
      hashPassword('same-pass-1')
    ]);
    expect(a).not.toBe(b);
  });

  it('never matches a malformed or foreign stored hash', async () => {
    await expect(verifyPassword('', 'x')).resolves.toBe(false);
    await expect(verifyPassword('plain-text', 'plain-text')).resolves.toBe(
      false
    );
    expect(needsRehash('$2a$10$abcdefghijklmnopqrstuv')).toBe(true);
    expect(needsRehash('$argon2id$v=19$m=4096,t=1,p=1$c2FsdA$aGFzaA')).toBe(
      true
    );
  });

  it('spends a real verification on the decoy (unknown emails)', async () => {
    await verifyAgainstDecoy('warm-up');
    const started = performance.now();
    await expect(verifyAgainstDecoy('anything-1')).resolves.toBe(false);
    // argon2id with 19 MiB takes milliseconds, never microseconds.
    expect(performance.now() - started).toBeGreaterThan(3);
  });
});

describe('hashes at once (all cores but one)', () => {
  it('queues a burst and answers every call, failed ones included', async () => {
    const stored = await hashPassword('burst-pass-1');
    const answers = await Promise.all([
      ...Array.from({ length: 6 }, () =>
        verifyPassword(stored, 'burst-pass-1')
      ),
      ...Array.from({ length: 6 }, () =>
        verifyPassword('$argon2id$not-a-hash', 'burst-pass-1')
      ),
      ...Array.from({ length: 4 }, () => hashPassword('burst-pass-2'))
    ]);
    expect(answers.slice(0, 6)).toEqual(Array(6).fill(true));
    expect(answers.slice(6, 12)).toEqual(Array(6).fill(false));
    expect(new Set(answers.slice(12)).size).toBe(4);
    // No slot was lost on the way: one more goes through.
    await expect(verifyPassword(stored, 'burst-pass-1')).resolves.toBe(true);
  });
});

describe('password policy (≥ 8 characters, letters and digits)', () => {
  it.each(['abcdefg1', 'correct-horse-42', 'Ünïcödé9', 'pass word 12'])(
    'accepts %j',
    pw => {
      expect(passwordWeakness(pw)).toBeUndefined();
    }
  );

  it.each([
    ['abc1', ['length']],
    ['abcdefgh', ['characters']],
    ['12345678', ['characters']],
    ['', ['length', 'characters']],
    ['!!!!!!!!', ['characters']]
  ])('refuses %j for %j', (pw, reasons) => {
    expect(passwordWeakness(pw)?.reasons).toEqual(reasons);
    expect(passwordWeakness(pw)?.message).toMatch(/Password should/);
  });
});
