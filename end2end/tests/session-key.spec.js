// @ts-check
const { test, expect, request } = require('./fixtures');
const { users, hydrated, signInByKeyboard, recordSecret } = require('./helpers');

test('an admin allows session keys on the Site Settings page', async ({ page }, info) => {
  const { admin } = users();
  await signInByKeyboard(page, admin, { phiSteps: 0 });
  await page.locator('.usermenu-button').click();
  await page.getByRole('menuitem', { name: 'Site settings' }).click();
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Site settings' })).toBeVisible();
  const box = page.locator('#allow_session_keys');
  if (!(await box.isChecked())) await box.check();
  await page.locator('#save-settings').click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  // an out-of-range value is refused next to its field
  await page.fill('#idle_timeout_mins', '0');
  await page.locator('#save-settings').click();
  await expect(page.getByText('idle_timeout_mins: must be between 1 and 1440 minutes, got 0')).toBeVisible();
  await page.screenshot({ path: info.outputPath('settings.png'), fullPage: true });
});

test('generate a key, copy it to the clipboard, use it, sign out: 401', async ({ page, baseURL }, info) => {
  const { researcher } = users();
  await signInByKeyboard(page, researcher);
  await page.locator('.usermenu-button').click();
  await page.getByRole('menuitem', { name: 'API session key' }).click();
  const dialog = page.getByRole('dialog', { name: 'API session key' });
  await expect(dialog).toContainText('valid only while this browser session lasts');
  await page.locator('#generate-key').click();
  const field = page.locator('#session-key');
  await expect(field).toHaveValue(/^attest_sk_[0-9A-Za-z]{49}$/);
  await page.locator('#copy-key').click();
  await expect(page.locator('#copied')).toHaveText('Copied');
  await page.screenshot({ path: info.outputPath('key-dialog.png') });
  const key = await page.evaluate(() => navigator.clipboard.readText());
  recordSecret(key);
  expect(key).toBe(await field.inputValue());
  await expect(page.locator('#key-list tbody tr')).toHaveCount(1);

  const api = await request.newContext({ baseURL });
  const call = () => api.post('/synthea/query-selectRows.api', {
    headers: { apikey: key },
    form: { schemaName: 'study', 'query.queryName': 'patients', 'query.maxRows': '3', 'query.columns': 'Id,BIRTHDATE' },
  });
  const ok = await call();
  expect(ok.status()).toBe(200);
  const body = await ok.json();
  expect(body.rows).toHaveLength(3);
  expect(body.rowCount).toBe(111);

  await page.locator('#key-done').click();
  await page.locator('.usermenu-button').click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  const dead = await call();
  expect(dead.status()).toBe(401);
  expect((await dead.json()).success).toBe(false);
});
