import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** The Chromium the tests drive: $CHROME_PATH, else `chromium` (or chromium-browser) on PATH; absent is an error, never a skip. */
export function chromePath(): string {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) return fromEnv;
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not in this folder
      }
    }
  }
  throw new Error('no Chromium found: install it (Debian: apt-get install chromium) or set CHROME_PATH to a Chrome/Chromium binary');
}

export function launchBrowser(): Promise<Browser> {
  // --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
  return puppeteer.launch({ executablePath: chromePath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
}

/** Opens `url` in a new page and returns it with every URL the page requested, the page itself included. */
export async function openRecordingRequests(browser: Browser, url: string): Promise<{ page: Page; requests: string[] }> {
  const page = await browser.newPage();
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(url, { waitUntil: 'networkidle0' });
  return { page, requests };
}

/**
 * Distinct colours in a screenshot (PNG bytes), decoded by the browser itself in a page of
 * its own: a blank page has one.
 */
export async function distinctColours(browser: Browser, png: Uint8Array): Promise<number> {
  const page = await browser.newPage();
  try {
    // A string, not a function: the tests compile without the DOM's types.
    const count = await page.evaluate(`(async () => {
      const image = new Image();
      image.src = 'data:image/png;base64,${Buffer.from(png).toString('base64')}';
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext('2d');
      context.drawImage(image, 0, 0);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      const colours = new Set();
      for (let i = 0; i < pixels.length; i += 4) colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
      return colours.size;
    })()`);
    return count as number;
  } finally {
    await page.close();
  }
}

/** The given attributes (and text) of every element matching `selector` in the page's DOM. */
export async function elements(page: Page, selector: string, attributes: string[] = []): Promise<Record<string, string | null>[]> {
  // A string, not a function: the tests compile without the DOM's types.
  const found = await page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})].map((e) => Object.fromEntries([
    ['text', e.textContent],
    ...${JSON.stringify(attributes)}.map((name) => [name, e.getAttribute(name)]),
  ]))`);
  return found as Record<string, string | null>[];
}
