// Shared steps for the browser tests.
const fs = require('fs');
const path = require('path');
const { expect } = require('@playwright/test');

/** Notes a secret (a key, a cookie) for scripts/check-secrets.py. */
function recordSecret(secret) {
  const dir = process.env.ATTEST_TEST_LOG_DIR;
  if (dir) fs.appendFileSync(path.join(dir, 'secrets-e2e.txt'), secret + '\n');
}

function users() {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '../../target/e2e/users.json'), 'utf8'));
}

async function hydrated(page) {
  await page.waitForSelector('main[data-hydrated="true"]', { state: 'attached', timeout: 30_000 });
}

/** Completes the sign-in wizard with the keyboard alone. */
async function signInByKeyboard(page, user, { irb = 'IRB-2026-001', phiSteps = 1 } = {}) {
  await page.goto('/login');
  await hydrated(page);
  await expect(page.locator('#email')).toBeFocused();
  await page.keyboard.type(user.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(user.password);
  await page.keyboard.press('Enter');
  // step 2: activity. Focus is on the first radio; two arrows select Research Operations.
  await expect(page.getByText('Choose the activity you are signing in for')).toBeVisible();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(page.locator('input[value="research-operations"]')).toBeChecked();
  await page.keyboard.press('Tab');
  await expect(page.locator('#irb')).toBeFocused();
  await page.keyboard.type(irb);
  await page.keyboard.press('Enter');
  // step 3: PHI level. ArrowDown from Not PHI selects Limited PHI.
  await expect(page.getByText('Choose the PHI level you need')).toBeVisible();
  if (phiSteps === 0) await page.keyboard.press('Space');
  for (let i = 0; i < phiSteps; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Tab'); // Back
  await page.keyboard.press('Tab'); // Next
  await expect(page.locator('#next-phi')).toBeFocused();
  await page.keyboard.press('Enter');
  // step 4: terms
  await expect(page.getByRole('heading', { name: 'Terms of use' })).toBeVisible();
  await expect(page.locator('#agree')).toBeFocused();
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab'); // Back
  await page.keyboard.press('Tab'); // OK
  await expect(page.locator('#accept-terms')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Studies' })).toBeVisible();
  for (const c of await page.context().cookies()) recordSecret(c.value);
}

/** Signs in through the JSON API; returns the Cookie header value. */
async function apiLogin(api, user) {
  const r = await api.post('/api/login', { data: { email: user.email, password: user.password } });
  expect(r.status()).toBe(200);
  const cookie = r.headers()['set-cookie'].split(';')[0];
  recordSecret(cookie.split('=')[1]);
  return cookie;
}

/** Turns on "Allow API session keys" (as an admin, through the API). */
async function allowKeys(api) {
  const cookie = await apiLogin(api, users().admin);
  const r = await api.put('/api/admin/settings', { headers: { cookie }, data: { allow_session_keys: true } });
  expect(r.status()).toBe(200);
}

module.exports = { users, hydrated, signInByKeyboard, apiLogin, allowKeys, recordSecret };
