import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Browser, chromium, Page } from 'playwright-core';
import { deleteTopology, TestBroker } from './support/amqp';
import { eventually } from './support/eventually';
import { RunningHerald, startHerald } from './support/herald';
import { createTestStorage, TestStorage, uniqueName } from './support/storage';

/** Debian's Chromium (`.ci/run` installs it); Playwright downloads no browser of its own. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = 'test-results/demo-inbox.png';

/** The demo inbox at GET /, in a real browser, against a real Herald and RabbitMQ. */
describe('demo inbox in Chromium', () => {
  let storage: TestStorage;
  let herald: RunningHerald;
  let broker: TestBroker;
  let browser: Browser;
  const prefix = `${uniqueName('amqp')}.`;
  // Development sign-in: no AUTH_* set, as on a newcomer's machine.
  const start = (port?: number) =>
    startHerald({ storage, port, env: { AMQP_PREFIX: prefix, AUTH_JWT_SECRET: undefined } });

  const publish = (title: string, body?: string) =>
    broker.publish(herald, 'notification.demo', {
      recipients: { userIds: ['ada'] },
      type: 'demo.message',
      title,
      ...(body && { body }),
    });

  const titles = (page: Page) => page.locator('#list .title').allTextContents();
  const badge = (page: Page) => page.locator('#badge');
  /** Waits until the badge shows `count` (the count may follow its notification by a frame). */
  const badgeShows = (page: Page, count: number) =>
    page.locator('#badge:visible', { hasText: new RegExp(`^${count}$`) }).waitFor();
  const live = (page: Page) => page.locator('#status[data-status="open"]').waitFor();
  /** The signed-in user's counts, asked of Herald by the page itself. */
  const counts = (page: Page) =>
    page.evaluate(async () => {
      const token = localStorage.getItem('herald.demo.token');
      const response = await fetch('/api/v1/notifications/unread-count', {
        headers: { authorization: `Bearer ${token}` },
      });
      return response.json();
    });

  beforeAll(async () => {
    storage = await createTestStorage('postgres');
    herald = await start();
    broker = await TestBroker.connect();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await broker?.close();
    await herald?.close();
    await storage?.drop();
    await deleteTopology(herald.config.amqp);
  });

  it('signs in, shows arrivals live, syncs tabs, and catches up after a restart', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
    const tabA = await context.newPage();
    const errors: string[] = [];
    tabA.on('pageerror', (error) => errors.push(error.message));
    await tabA.goto(herald.url);
    await tabA.getByLabel('User id').fill('ada');
    await tabA.getByRole('button', { name: 'Sign in' }).click();
    await live(tabA);
    await expect(tabA.locator('#who').textContent()).resolves.toBe('Signed in as ada');
    await expect(tabA.locator('#sign-in').isHidden()).resolves.toBe(true);

    // A notification published to RabbitMQ appears, and the badge counts it.
    await publish('Your order has shipped', 'Tracking number 1Z999');
    await tabA.locator('#list .item.unread', { hasText: 'Your order has shipped' }).waitFor();
    await badgeShows(tabA, 1);
    await expect(tabA.locator('#announcer').textContent()).resolves.toBe(
      'New notification: Your order has shipped',
    );

    // A second tab (same sign-in) shows the same; marking read in A updates B.
    const tabB = await context.newPage();
    await tabB.goto(herald.url);
    await live(tabB);
    await tabB.locator('#list .item.unread', { hasText: 'Your order has shipped' }).waitFor();
    await tabA.getByRole('button', { name: 'Mark read: Your order has shipped' }).click();
    await tabB.locator('#list .item:not(.unread)', { hasText: 'Your order has shipped' }).waitFor();
    await badge(tabB).waitFor({ state: 'hidden' }); // the recount follows the change
    await expect(tabB.locator('#bell-label').textContent()).resolves.toBe(
      'Notifications, 0 unread',
    );

    // Herald restarts; what arrives meanwhile is shown once the page has reconnected.
    const port = Number(new URL(herald.url).port);
    await herald.close();
    await tabA.locator('#status[data-status="reconnecting"]').waitFor();
    await publish('Sent while Herald was down');
    await publish('Also sent while down');
    herald = await start(port);
    await live(tabA);
    await tabA.locator('#list .item', { hasText: 'Also sent while down' }).waitFor();
    await expect(titles(tabA)).resolves.toEqual([
      'Also sent while down',
      'Sent while Herald was down',
      'Your order has shipped',
    ]);
    await badgeShows(tabA, 2);
    await tabB.locator('#list .item', { hasText: 'Also sent while down' }).waitFor();
    await badgeShows(tabB, 2);

    mkdirSync('test-results', { recursive: true });
    await tabA.screenshot({ path: SCREENSHOT });

    // Keyboard: Mark all read with Enter; Escape closes the panel.
    await tabA.getByRole('button', { name: 'Mark all read' }).focus();
    await tabA.keyboard.press('Enter');
    await badge(tabA).waitFor({ state: 'hidden' });
    await badge(tabB).waitFor({ state: 'hidden' });
    await tabA.keyboard.press('Escape');
    await expect(tabA.locator('#bell').getAttribute('aria-expanded')).resolves.toBe('false');
    await expect(tabA.locator('#panel').isHidden()).resolves.toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows links, actions, tabs, categories and snooze, and clears the bell when opened', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(herald.url);
    await page.getByLabel('User id').fill('grace');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await live(page);
    const send = (title: string, fields: object) =>
      broker.publish(herald, 'notification.demo', {
        recipients: { userIds: ['grace'] },
        type: 'demo.message',
        title,
        ...fields,
      });
    const item = (title: string) => page.locator('#list .item', { hasText: title });

    // With the panel closed, an arrival lights the bell's dot; opening the panel marks it seen.
    await page.locator('#bell').click();
    await send('Review requested', {
      url: '/pulls/42',
      category: 'code',
      actions: [
        { id: 'approve', label: 'Approve' },
        { id: 'reject', label: 'Reject' },
      ],
    });
    await page.locator('#new-dot:visible').waitFor();
    await page.locator('#bell').click();
    await page.locator('#new-dot').waitFor({ state: 'hidden' });
    await expect(item('Review requested').locator('a.title').getAttribute('href')).resolves.toBe(
      '/pulls/42',
    );
    await expect(item('Review requested').locator('time').textContent()).resolves.toBe('just now');
    await expect(item('Review requested').locator('.meta').textContent()).resolves.toMatch(
      /^code · /,
    );
    await eventually(async () => expect(await counts(page)).toEqual({ count: 1, unseen: 0 })); // seen, still unread

    // An action: recorded, shown, and the item is read.
    await page.getByRole('button', { name: 'Approve: Review requested' }).click();
    await item('Review requested').locator('.done', { hasText: 'Done: Approve' }).waitFor();
    await page.locator('#list .item:not(.unread)', { hasText: 'Review requested' }).waitFor();

    // Tabs and the category filter.
    await send('Ada liked your post', { category: 'social' });
    await item('Ada liked your post').waitFor();
    await page.getByRole('tab', { name: 'Unread' }).click();
    await expect(titles(page)).resolves.toEqual(['Ada liked your post']);
    await page.getByRole('tab', { name: 'All' }).click();
    await page.getByLabel('Category').selectOption('code');
    await expect(titles(page)).resolves.toEqual(['Review requested']);
    await page.getByLabel('Category').selectOption('');
    await expect(titles(page)).resolves.toEqual(['Ada liked your post', 'Review requested']);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/demo-inbox-v2.png' });

    // Archive, find it in the Archived tab, bring it back.
    await page.getByRole('button', { name: 'Archive: Review requested' }).click();
    await item('Review requested').waitFor({ state: 'detached' });
    await page.getByRole('tab', { name: 'Archived' }).click();
    await item('Review requested').waitFor();
    // Another tab archives one while this one shows the Archived list: the list follows.
    await page.getByRole('tab', { name: 'All' }).click();
    await send('Archived elsewhere', { category: 'code' });
    await item('Archived elsewhere').waitFor();
    await page.getByRole('tab', { name: 'Archived' }).click();
    await item('Review requested').waitFor();
    const other = await context.newPage();
    await other.goto(herald.url);
    await live(other);
    await other.getByRole('button', { name: 'Archive: Archived elsewhere' }).click();
    await other.close();
    await item('Archived elsewhere').waitFor();
    await page.getByRole('button', { name: 'Unarchive: Review requested' }).click();
    await item('Review requested').waitFor({ state: 'detached' });
    await page.getByRole('tab', { name: 'All' }).click();
    await item('Review requested').waitFor();

    // Grouped: one item for both likes, saying who.
    for (const actor of ['Ada', 'Bob']) {
      await send(`${actor} liked your photo`, { group: { key: 'photo-1', actor } });
    }
    await item('Bob liked your photo').locator('.group', { hasText: 'Bob and 1 other' }).waitFor();
    await item('Ada liked your photo').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Archive: Bob liked your photo' }).click();
    await item('Bob liked your photo').waitFor({ state: 'detached' });

    // Snoozed for an hour: out of the list and the counts.
    await page.getByRole('button', { name: 'Snooze 1 hour: Ada liked your post' }).click();
    await item('Ada liked your post').waitFor({ state: 'detached' });
    await page.locator('#badge').waitFor({ state: 'hidden' });
    await eventually(async () => expect(await counts(page)).toEqual({ count: 0, unseen: 0 }));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a native EventSource with the session cookie reconnects by itself and misses nothing', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(herald.url);
    // What a page without Herald's client does: a session, then the browser's own EventSource.
    await page.evaluate(async () => {
      const issued = await fetch('/api/v1/dev/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'lin' }),
      });
      const { token } = (await issued.json()) as { token: string };
      const session = await fetch('/api/v1/stream/session', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      if (session.status !== 204) throw new Error(`session: ${session.status}`);
      const page = globalThis as unknown as Record<string, unknown>;
      const received: { id: string; title: string }[] = [];
      const source = new EventSource('/api/v1/notifications/stream', { withCredentials: true });
      Object.assign(page, { received, source, opens: 0 });
      source.onopen = () => (page.opens = (page.opens as number) + 1);
      source.addEventListener('notification', (event) => {
        const message = event as MessageEvent;
        received.push({
          id: message.lastEventId,
          title: (JSON.parse(message.data as string) as { title: string }).title,
        });
      });
    });
    const received = () =>
      page.evaluate(
        () => (globalThis as unknown as { received: { id: string; title: string }[] }).received,
      );
    const receivedCount = (count: number) =>
      page.waitForFunction(
        (n) => (globalThis as unknown as { received: unknown[] }).received.length >= n,
        count,
      );
    const send = (title: string) =>
      broker.publish(herald, 'notification.demo', {
        recipients: { userIds: ['lin'] },
        type: 'demo.message',
        title,
      });

    await page.waitForFunction(() => (globalThis as unknown as { opens: number }).opens === 1);
    await send('Before the restart');
    await receivedCount(1);

    const port = Number(new URL(herald.url).port);
    await herald.close();
    for (const title of ['Missed 1', 'Missed 2', 'Missed 3']) await send(title);
    herald = await start(port);
    await page.waitForFunction(() => (globalThis as unknown as { opens: number }).opens === 2);
    await receivedCount(4);
    await send('After the restart');
    await receivedCount(5);

    const events = await received();
    expect(events.map((event) => event.title)).toEqual([
      'Before the restart',
      'Missed 1',
      'Missed 2',
      'Missed 3',
      'After the restart',
    ]);
    const ids = events.map((event) => BigInt(event.id));
    expect(ids.every((id, index) => index === 0 || id > ids[index - 1])).toBe(true);
    // One EventSource all along: the browser reconnected it, with the cookie and Last-Event-ID.
    await expect(
      page.evaluate(() => (globalThis as unknown as { source: EventSource }).source.readyState),
    ).resolves.toBe(1);
    await context.close();
  });

  it('a page on another origin of the same site streams with the cookie (CORS_ORIGINS)', async () => {
    // The page's own server, on another port of the same host: another origin, the same site.
    const pages = createServer((_, response) => {
      response.setHeader('content-type', 'text/html');
      response.end('<!doctype html><title>Another app</title>');
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    const other = await startHerald({
      storage: 'pglite',
      env: { AUTH_JWT_SECRET: undefined, CORS_ORIGINS: origin },
    });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(origin);
      await page.evaluate(async (herald) => {
        const issued = await fetch(`${herald}/api/v1/dev/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ userId: 'remote' }),
        });
        const { token } = (await issued.json()) as { token: string };
        const session = await fetch(`${herald}/api/v1/stream/session`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          credentials: 'include',
        });
        if (session.status !== 204) throw new Error(`session: ${session.status}`);
        const titles: string[] = [];
        const source = new EventSource(`${herald}/api/v1/notifications/stream`, {
          withCredentials: true,
        });
        Object.assign(globalThis, { titles, source });
        source.addEventListener('notification', (event) => {
          const message = event as MessageEvent;
          titles.push((JSON.parse(message.data as string) as { title: string }).title);
        });
        await new Promise((resolve, reject) => {
          source.onopen = resolve;
          source.onerror = () => reject(new Error('the stream did not open'));
        });
      }, other.url);
      await broker.publish(other, 'notification.demo', {
        recipients: { userIds: ['remote'] },
        type: 'demo.message',
        title: 'Across origins',
      });
      await page.waitForFunction(
        () => (globalThis as unknown as { titles: string[] }).titles.length === 1,
      );
      await expect(
        page.evaluate(() => (globalThis as unknown as { titles: string[] }).titles),
      ).resolves.toEqual(['Across origins']);
    } finally {
      await context.close();
      await other.close();
      pages.close();
    }
  });

  it('renders the Swagger UI at /docs under the security headers', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${herald.url}/docs`);
    await page.locator('.swagger-ui .info .title', { hasText: 'Herald' }).waitFor();
    await page
      .locator('.opblock-summary-path', { hasText: '/api/v1/notifications/stream' })
      .first()
      .waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('offers a token box instead of sign-in-as-anyone when development auth is off', async () => {
    const secured = await startHerald({ storage: 'postgres' });
    try {
      const page = await browser.newPage();
      await page.goto(secured.url);
      await page.getByLabel('Token (JWT)').waitFor();
      await expect(page.locator('#dev-hint').isHidden()).resolves.toBe(true);
      await page.getByLabel('Token (JWT)').fill('not a token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toBe('That is not a JWT');
      await page.close();
    } finally {
      await secured.close();
    }
  });
});
