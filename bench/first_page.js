// First page (the sign-in wizard) rendered and hydrated in Chromium: time from navigation to
// the hydration marker, in a fresh browser context each time; prints the median of 7 runs (ms)
// and the wasm files the page fetched (the main module and any lazily loaded chunk).
// playwright-core comes with end2end/'s packages (scripts/setup.sh installs them)
const { chromium } = require(require.resolve('playwright-core', { paths: [__dirname + '/../end2end/node_modules'] }));

(async () => {
  const base = process.argv[2];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const times = [];
  const wasm = new Set();
  for (let i = 0; i < 7; i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    page.on('request', (r) => { const u = new URL(r.url()); if (u.pathname.endsWith('.wasm')) wasm.add(u.pathname); });
    const t0 = Date.now();
    await page.goto(base + '/login');
    await page.waitForSelector('main[data-hydrated="true"]', { state: 'attached', timeout: 30000 });
    times.push(Date.now() - t0);
    await page.waitForLoadState('networkidle');
    await ctx.close();
  }
  await browser.close();
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ median_ms: times[3], runs_ms: times, wasm_fetched: [...wasm].sort() }));
})();
