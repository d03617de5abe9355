// @ts-check
const { test, expect, request } = require('./fixtures');
const { users, hydrated, signInByKeyboard, apiLogin, allowKeys, recordSecret } = require('./helpers');

test('an admin creates a user on the Users page', async ({ page }, info) => {
  const { admin } = users();
  await signInByKeyboard(page, admin, { phiSteps: 0 });
  await page.goto('/admin/users');
  await hydrated(page);
  await page.fill('#new-email', 'new.person@e2e.test');
  await page.fill('#new-name', 'New Person');
  await page.selectOption('#new-phi', 'limited');
  await page.fill('#new-password', 'short');
  await page.locator('#create-user').click();
  await expect(page.getByText('the password must be at least 15 characters long')).toBeVisible();
  await page.fill('#new-password', 'a long and unusual passphrase');
  await page.locator('#create-user').click();
  await expect(page.getByRole('status').filter({ hasText: 'Created new.person@e2e.test.' })).toBeVisible();
  await expect(page.locator('#users tr[data-email="new.person@e2e.test"]')).toBeVisible();
  await page.screenshot({ path: info.outputPath('users.png'), fullPage: true });

  // the new user can sign in, and Limited is the most they can declare
  const ctx = await page.context().browser().newContext();
  const p2 = await ctx.newPage();
  await p2.goto('/login');
  await hydrated(p2);
  await p2.fill('#email', 'new.person@e2e.test');
  await p2.fill('#password', 'a long and unusual passphrase');
  await p2.locator('#next-credentials').click();
  await p2.locator('input[value="quality-improvement"]').check();
  await p2.locator('#next-activity').click();
  await expect(p2.locator('input[value="full"]')).toBeDisabled();
  await expect(p2.locator('input[value="limited"]')).toBeEnabled();
  await ctx.close();
});

test('ending a session on the Sessions page kills its key in use', async ({ page, baseURL }, info) => {
  const { admin, researcher } = users();
  // the researcher's script session, declared, with a key in use
  const api = await request.newContext({ baseURL });
  await allowKeys(api);
  const cookie = await apiLogin(api, researcher);
  const terms = await (await api.post('/api/declaration', { headers: { cookie }, data: { activity: 'quality-improvement', phi_level: 'not-phi' } })).json();
  expect((await api.post('/api/declaration/accept', { headers: { cookie }, data: { terms_hash: terms.terms_hash } })).status()).toBe(200);
  const created = await api.post('/api/session-keys', { headers: { cookie }, data: {} });
  expect(created.status()).toBe(201);
  const { key } = await created.json();
  recordSecret(key);
  const call = () => api.get('/synthea/query-selectRows.api?schemaName=study&query.queryName=patients&query.maxRows=1', { headers: { apikey: key } });
  expect((await call()).status()).toBe(200);

  await signInByKeyboard(page, admin, { phiSteps: 0 });
  await page.goto('/admin/sessions');
  await hydrated(page);
  const row = page.locator(`#sessions tr[data-user="${researcher.email}"]`).filter({ hasText: 'quality-improvement' });
  await expect(row).toHaveCount(1);
  await expect(row.locator('td.num')).toHaveText('1');
  await page.screenshot({ path: info.outputPath('sessions.png'), fullPage: true });
  await row.locator('button.end-session').click();
  await expect(row).toHaveCount(0);
  const dead = await call();
  expect(dead.status()).toBe(401);
});

test('new terms: the browser shows the terms step again and the key works once accepted', async ({ page, baseURL }, info) => {
  const { admin, researcher } = users();
  const api = await request.newContext({ baseURL });
  await allowKeys(api);
  await signInByKeyboard(page, researcher);
  // a key of this browser session
  await page.locator('.usermenu-button').click();
  await page.getByRole('menuitem', { name: 'API session key' }).click();
  await page.locator('#generate-key').click();
  const key = await page.locator('#session-key').inputValue();
  recordSecret(key);
  await page.locator('#key-done').click();
  const call = () => api.get('/synthea/query-selectRows.api?schemaName=study&query.queryName=patients&query.maxRows=1', { headers: { apikey: key } });
  expect((await call()).status()).toBe(200);

  // the admin publishes a new version through the API
  const adminApi = await request.newContext({ baseURL });
  const cookie = await apiLogin(adminApi, admin);
  const current = await (await adminApi.get('/api/admin/terms', { headers: { cookie } })).json();
  const paragraphs = [...current.paragraphs, { ordinal: 5, body: 'I will report any suspected breach within 24 hours.', activities: ['*'], phi_levels: ['*'] }];
  expect((await adminApi.post('/api/admin/terms', { headers: { cookie }, data: { paragraphs } })).status()).toBe(201);

  const refused = await call();
  expect(refused.status()).toBe(403);
  expect((await refused.json()).exception).toContain('terms of use have changed');

  await page.goto('/studies/synthea/patients');
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await expect(page.getByText('The terms of use have changed since you accepted them')).toBeVisible();
  await expect(page.locator('ol.terms')).toContainText('report any suspected breach within 24 hours');
  await page.screenshot({ path: info.outputPath('reaccept.png') });
  await page.locator('#agree').check();
  await page.locator('#accept-terms').click();
  await expect(page.getByRole('heading', { name: 'Studies' })).toBeVisible();
  expect((await call()).status()).toBe(200);
});
