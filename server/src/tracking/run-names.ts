import { randomInt } from 'node:crypto';

/**
 * Names for runs created without one, in MLflow's style ("calm-owl-42"):
 * easy to say and to tell apart in a runs table.
 */
const ADJECTIVES = [
  'amber', 'bold', 'brave', 'bright', 'calm', 'clever', 'crisp', 'daring',
  'eager', 'fair', 'fleet', 'gentle', 'glad', 'grand', 'happy', 'honest',
  'keen', 'kind', 'lively', 'lucid', 'merry', 'nimble', 'noble', 'patient',
  'polite', 'proud', 'quick', 'quiet', 'rapid', 'serene', 'sharp', 'shy',
  'silent', 'smooth', 'steady', 'sunny', 'swift', 'tidy', 'vivid', 'witty'
];

const NOUNS = [
  'badger', 'bear', 'bee', 'crane', 'deer', 'dolphin', 'eagle', 'elk',
  'falcon', 'finch', 'fox', 'gecko', 'goose', 'hare', 'hawk', 'heron',
  'ibis', 'jay', 'koala', 'lark', 'lemur', 'lion', 'lynx', 'mink', 'moth',
  'newt', 'otter', 'owl', 'panda', 'puffin', 'quail', 'raven', 'robin',
  'seal', 'shrew', 'stork', 'swan', 'tiger', 'wolf', 'wren'
];

export function generateRunName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${NOUNS[randomInt(NOUNS.length)]}-${randomInt(1000)}`;
}
