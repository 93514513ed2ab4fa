import fs from 'node:fs';
import type { TestRunState } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as { __insighterTest?: TestRunState })
    .__insighterTest;
  state?.cluster?.stop();
  state?.dockerd?.stop();
  if (state?.work) {
    fs.rmSync(state.work, { recursive: true, force: true });
  }
}
