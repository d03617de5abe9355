// @ts-check
const { defineConfig } = require('@playwright/test');

// Debian's chromium (apt-get install chromium). Playwright downloads no browser here.
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const BASE_URL = process.env.BASE_URL || 'http://127.0.0.1:3999';

module.exports = defineConfig({
  testDir: './tests',
  timeout: 60_000,
  retries: 0,
  workers: 1,
  reporter: [['list']],
  // screenshots and traces of every test are kept here (CI artifacts)
  outputDir: './test-results',
  use: {
    baseURL: BASE_URL,
    browserName: 'chromium',
    headless: true,
    screenshot: 'on',
    launchOptions: {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
    permissions: ['clipboard-read', 'clipboard-write'],
  },
  webServer: process.env.NO_WEBSERVER ? undefined : {
    command: './serve.sh',
    url: BASE_URL + '/login',
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
  },
});
