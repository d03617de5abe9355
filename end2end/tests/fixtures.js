// Every browser test fails if the page throws (a hydration error, a panic in the wasm).
const base = require('@playwright/test');

const test = base.test.extend({
  page: async ({ page }, use) => {
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error' && /hydration|panicked/i.test(m.text())) errors.push(m.text()); });
    await use(page);
    base.expect(errors, 'errors thrown in the page').toEqual([]);
  },
});

module.exports = { test, expect: base.expect, request: base.request };
