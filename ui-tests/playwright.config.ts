import { defineConfig } from '@playwright/test';

/**
 * Browser tests run Debian's Chromium headless against a real Insighter Lab
 * (Python server, real kernels, the real sidecar) started by the fixtures in
 * `fixtures.ts`. No browser is downloaded; video and trace stay off (they
 * need a downloaded ffmpeg).
 */
export default defineConfig({
  testDir: './tests',
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  outputDir: '../.cache/ui-test-output',
  use: {
    browserName: 'chromium',
    headless: true,
    video: 'off',
    trace: 'off',
    screenshot: 'only-on-failure',
    viewport: { width: 1400, height: 900 },
    launchOptions: {
      executablePath: process.env.INSIGHTER_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  }
});
