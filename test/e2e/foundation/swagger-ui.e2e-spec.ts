import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startInstance, type Instance } from '../../support/instance.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('Swagger UI in headless Chromium', () => {
  let a: Instance;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    a = await startInstance('A');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await a?.destroy();
  });

  it('renders the route list', async () => {
    const page = await browser.newPage();
    await page.goto(`${a.url}/api/docs`);
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.getAttribute('data-path') ?? e.textContent ?? ''));
    expect(paths).toEqual(expect.arrayContaining(['/api/v4/users/login', '/api/v4/users/me', '/api/v4/system/ping', '/health/ready']));
    // The Authorize button exists because both security schemes are declared.
    expect(await page.locator('.btn.authorize').count()).toBeGreaterThan(0);
  });
});
