// @ts-check
const { test, expect } = require('./fixtures');
const { users, hydrated, signInByKeyboard } = require('./helpers');

test('sign in by keyboard alone, open patients, SSN hidden at Limited PHI', async ({ page }, info) => {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const { researcher } = users();
  await signInByKeyboard(page, researcher);
  await page.screenshot({ path: info.outputPath('1-studies.png') });
  await expect(page.locator('.declaration')).toContainText('Research Operations · IRB IRB-2026-001 · Limited PHI');

  await page.getByRole('link', { name: 'synthea' }).click();
  await page.getByRole('link', { name: 'patients' }).click();
  await hydrated(page);
  await expect(page.locator('#row-count')).toHaveText('Rows 1–100 of 111');
  const headers = await page.locator('#grid thead tr').first().locator('th').evaluateAll((ths) => ths.map((th) => th.getAttribute('data-column')));
  expect(headers).toContain('BIRTHDATE');
  expect(headers).toContain('ZIP');
  for (const hidden of ['SSN', 'DRIVERS', 'PASSPORT', 'FIRST', 'LAST', 'ADDRESS', 'LAT']) expect(headers).not.toContain(hidden);
  await expect(page.locator('#hidden-note')).toHaveText('12 columns are hidden: above your declared level (Limited PHI): 9 Full PHI, 3 Restricted PHI.');
  // no SSN anywhere on the page
  expect(await page.content()).not.toMatch(/\d{3}-\d{2}-\d{4}/);
  await page.screenshot({ path: info.outputPath('2-patients-limited.png'), fullPage: true });
  expect(errors).toEqual([]);
});

test('the wizard keeps its state on Back and shows errors next to their fields', async ({ page }, info) => {
  const { researcher } = users();
  await page.goto('/login');
  await hydrated(page);
  await page.locator('#next-credentials').click();
  await expect(page.locator('#email-error')).toHaveText('Enter your e-mail address.');
  await page.fill('#email', researcher.email);
  await page.fill('#password', 'not the password at all');
  await page.locator('#next-credentials').click();
  await expect(page.getByRole('alert').filter({ hasText: 'Sign-in failed' })).toBeVisible();
  await page.fill('#password', researcher.password);
  await page.locator('#next-credentials').click();
  await page.locator('input[value="research-waiver"]').check();
  await page.locator('#next-activity').click();
  await expect(page.locator('#irb-error')).toHaveText('Research with Waiver of HIPAA Authorization/Consent requires an IRB protocol number.');
  await page.fill('#irb', 'IRB-42');
  await page.locator('#next-activity').click();
  await expect(page.locator('input[value="restricted"]')).toBeDisabled();
  await page.locator('input[value="full"]').check();
  await page.locator('#back-phi').click();
  await expect(page.locator('input[value="research-waiver"]')).toBeChecked();
  await expect(page.locator('#irb')).toHaveValue('IRB-42');
  await page.locator('#next-activity').click();
  await expect(page.locator('input[value="full"]')).toBeChecked();
  await page.locator('#next-phi').click();
  await page.locator('#accept-terms').click();
  await expect(page.locator('#terms-error')).toContainText('I agree');
  await page.screenshot({ path: info.outputPath('terms-error.png') });
  await page.locator('#agree').check();
  await page.locator('#accept-terms').click();
  await expect(page.getByRole('heading', { name: 'Studies' })).toBeVisible();
});
