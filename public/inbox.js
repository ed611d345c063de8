// The demo inbox: Herald's browser client (client/, served at /client/) behind a bell, a list and
// a connection indicator. Plain ES modules, no build step.
import { HeraldClient } from '/client/herald-client.js';

// The demo keeps the token in localStorage so that every tab shares it; an application would
// hand the client a token from its own sign-in instead.
const TOKEN_KEY = 'herald.demo.token';
const $ = (id) => document.getElementById(id);
const STATUS_TEXT = {
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  unauthorized: 'Token refused',
  closed: 'Not connected',
};

let client;
/** What the panel shows: a tab (all, unread, archived) and a category ('' for all). */
const view = { tab: 'all', category: '', archived: [] };
const SNOOZE_MS = 3600_000;
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'short' });

/** The payload of a JWT, for its subject and expiry (the server checks the signature). */
function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

async function developmentAuth() {
  const response = await fetch('/api/v1/dev').catch(() => undefined);
  return response?.ok === true;
}

async function signIn(value, development) {
  let token = value.trim();
  if (development) {
    const response = await fetch('/api/v1/dev/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: token }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error([body.message].flat().join('; '));
    token = body.token;
  } else if (!claimsOf(token).sub) {
    throw new Error('That is not a JWT');
  }
  localStorage.setItem(TOKEN_KEY, token);
  start(token);
}

function start(token) {
  $('sign-in').hidden = true;
  $('panel').hidden = false;
  $('bell').hidden = false;
  $('sign-out').hidden = false;
  $('who').textContent = `Signed in as ${claimsOf(token).sub}`;
  // The browser's own EventSource, with the stream session cookie: it reconnects by itself.
  client = new HeraldClient({
    token: () => localStorage.getItem(TOKEN_KEY) ?? token,
    stream: 'cookie',
  });
  client.on('status', showStatus);
  client.on('change', () => {
    render();
    seeIfShown();
    if (view.tab === 'archived') reloadArchivedSoon();
  });
  client.on('notification', (notification) => {
    $('announcer').textContent = `New notification: ${notification.title}`;
  });
  client.connect();
  setInterval(render, 30_000); // "3 min. ago" moves on
}

/** The panel is open on a page in view: what it lists has been seen. */
function panelShown() {
  return !$('panel').hidden && document.visibilityState === 'visible';
}

let seeing;
/** Marks what the panel shows seen: the bell's dot clears, the items stay unread. */
function seeIfShown() {
  if (!client || seeing || !panelShown()) return;
  const unseen = shown().filter((item) => item.seenAt === null && item.readAt === null);
  if (unseen.length === 0) return;
  seeing = client
    .markSeen(unseen.map((item) => item.id))
    .catch(() => undefined)
    .finally(() => (seeing = undefined));
}

/** A notification's link, if it is one to follow: http(s), on this site or another. */
function safeLink(url) {
  const parsed = URL.parse(url, location.origin);
  return parsed && ['http:', 'https:'].includes(parsed.protocol) ? url : undefined;
}

function showStatus(status) {
  $('status').dataset.status = status;
  $('status-text').textContent = STATUS_TEXT[status];
}

function render() {
  if (!client) return;
  const { unreadCount, unseenCount } = client;
  $('badge').hidden = unreadCount === 0;
  $('badge').textContent = unreadCount > 99 ? '99+' : String(unreadCount);
  $('bell-label').textContent = `Notifications, ${unreadCount} unread`;
  $('new-dot').hidden = unseenCount === 0 || panelShown();
  $('read-all').disabled = unreadCount === 0;
  renderCategories();
  const items = shown();
  $('empty').hidden = items.length > 0;
  $('empty').textContent = EMPTY[view.tab];
  $('list').replaceChildren(...items.map(itemOf));
}

const EMPTY = {
  all: 'Nothing yet. New notifications appear here as they arrive.',
  unread: 'All read.',
  archived: 'Nothing archived.',
};

/** The notifications of the tab and category chosen. */
function shown() {
  const items =
    view.tab === 'archived'
      ? view.archived
      : client.notifications.filter((item) => view.tab === 'all' || item.readAt === null);
  return view.category ? items.filter((item) => item.category === view.category) : items;
}

/** One option per category in the lists, the one chosen kept. */
function renderCategories() {
  const categories = new Set(
    [...client.notifications, ...view.archived].map((item) => item.category).filter(Boolean),
  );
  if (view.category) categories.add(view.category);
  const select = $('category');
  const options = [...categories].sort().map((category) => new Option(category, category));
  select.replaceChildren(new Option('All categories', ''), ...options);
  select.value = view.category;
  select.hidden = categories.size === 0;
}

async function showTab(tab) {
  view.tab = tab;
  for (const element of document.querySelectorAll('[role="tab"]')) {
    element.setAttribute('aria-selected', String(element.dataset.tab === tab));
  }
  if (tab === 'archived') await loadArchived();
  render();
}

let reloading;
/** The archived list follows changes from other tabs: loaded again once per burst of them. */
function reloadArchivedSoon() {
  reloading ??= setTimeout(() => {
    reloading = undefined;
    loadArchived()
      .then(render)
      .catch(() => undefined);
  }, 300);
}

async function loadArchived() {
  const page = await client.request('GET', '/notifications?status=archived&limit=50');
  view.archived = page.items;
}

/** "just now", "3 min. ago", "yesterday", … */
function ago(iso) {
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (seconds > -45) return 'just now';
  for (const [unit, size] of [
    ['minute', 60],
    ['hour', 3600],
    ['day', 86400],
  ]) {
    const count = Math.round(seconds / size);
    if (unit === 'day' || Math.abs(count) < (unit === 'minute' ? 60 : 24)) {
      return relative.format(count, unit);
    }
  }
}

/** "Ada and 4 others" for a group, when its messages named who. */
function groupLine(notification) {
  const { groupCount, actors } = notification;
  if (groupCount < 2) return '';
  if (actors.length === 0) return `${groupCount} notifications`;
  const others = groupCount - 1;
  return `${actors[0]} and ${others} ${others === 1 ? 'other' : 'others'}`;
}

function itemOf(notification) {
  const item = document.createElement('li');
  item.className = notification.readAt ? 'item' : 'item unread';
  item.dataset.id = notification.id;
  const link = notification.url && safeLink(notification.url);
  const title = document.createElement(link ? 'a' : 'span');
  title.className = 'title';
  title.textContent = notification.title;
  if (link) {
    title.href = link;
    title.target = '_blank';
    title.rel = 'noopener';
    title.addEventListener('click', () => {
      if (!notification.readAt) client.markRead(notification.id).catch(() => undefined);
    });
  }
  const group = document.createElement('p');
  group.className = 'group';
  group.textContent = groupLine(notification);
  group.hidden = group.textContent === '';
  const body = document.createElement('p');
  body.className = 'body';
  body.textContent = notification.body ?? '';
  const meta = document.createElement('p');
  meta.className = 'meta';
  const when = document.createElement('time');
  when.dateTime = notification.createdAt;
  when.title = new Date(notification.createdAt).toLocaleString();
  when.textContent = ago(notification.createdAt);
  meta.append(`${notification.category ?? notification.type} · ${notification.priority} · `, when);
  const done = document.createElement('p');
  done.className = 'done';
  const taken = notification.actions.find((action) => action.id === notification.interaction);
  done.textContent = taken ? `Done: ${taken.label}` : '';
  done.hidden = !taken;
  const buttons = document.createElement('div');
  buttons.className = 'buttons';
  // Once one is taken, "Done: …" says which instead.
  for (const action of taken ? [] : notification.actions) {
    const element = button(action.label, async () => {
      await client.act(notification.id, action.id);
      const target = action.url && safeLink(action.url);
      if (target) window.open(target, '_blank', 'noopener');
    });
    element.classList.add('action');
    element.setAttribute('aria-label', `${action.label}: ${notification.title}`);
    buttons.append(element);
  }
  item.append(title, controlsOf(notification), group, body, buttons, done, meta);
  return item;
}

/** Read, snooze and archive, as the tab allows. */
function controlsOf(notification) {
  const controls = document.createElement('div');
  controls.className = 'actions';
  const labelled = (element, label) => {
    element.setAttribute('aria-label', `${label}: ${notification.title}`);
    return element;
  };
  if (view.tab === 'archived') {
    const restore = button('Unarchive', async () => {
      await client.request('PATCH', `/notifications/${notification.id}`, { archived: false });
      await loadArchived();
      render();
      await client.refresh(); // back in the live list
    });
    controls.append(labelled(restore, 'Unarchive'));
    return controls;
  }
  const readLabel = notification.readAt ? 'Mark unread' : 'Mark read';
  const read = button(readLabel, () => client.markRead(notification.id, !notification.readAt));
  const snooze = button('Snooze 1 h', () =>
    client.snooze(notification.id, new Date(Date.now() + SNOOZE_MS)),
  );
  const archive = button('Archive', () => client.archive(notification.id));
  controls.append(
    labelled(read, readLabel),
    labelled(snooze, 'Snooze 1 hour'),
    labelled(archive, 'Archive'),
  );
  return controls;
}

function button(label, action) {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = label;
  element.addEventListener('click', () => {
    element.disabled = true;
    action().catch((error) => {
      element.disabled = false;
      $('announcer').textContent = `Failed: ${error.message}`;
    });
  });
  return element;
}

async function main() {
  const development = await developmentAuth();
  $('dev-hint').hidden = !development;
  $('user-label').textContent = development ? 'User id' : 'Token (JWT)';
  $('bell').addEventListener('click', () => {
    const open = $('panel').hidden;
    $('panel').hidden = !open;
    $('bell').setAttribute('aria-expanded', String(open));
    render();
    seeIfShown();
  });
  document.addEventListener('visibilitychange', seeIfShown);
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener('click', () => {
      showTab(tab.dataset.tab).catch((error) => {
        $('announcer').textContent = `Failed: ${error.message}`;
      });
    });
  }
  $('category').addEventListener('change', () => {
    view.category = $('category').value;
    render();
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !$('panel').hidden && client) $('bell').click();
  });
  $('read-all').addEventListener('click', () => client.markAllRead());
  $('sign-out').addEventListener('click', async () => {
    const token = localStorage.getItem(TOKEN_KEY);
    localStorage.removeItem(TOKEN_KEY);
    client?.close();
    // Ends the stream session this token opened, and clears its cookie.
    await fetch('/api/v1/stream/session', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    }).catch(() => undefined);
    location.reload();
  });
  $('sign-in').addEventListener('submit', (event) => {
    event.preventDefault();
    $('sign-in-error').textContent = '';
    signIn($('user-id').value, development).catch((error) => {
      $('sign-in-error').textContent = error.message;
    });
  });
  const saved = localStorage.getItem(TOKEN_KEY);
  const expires = saved ? claimsOf(saved).exp : undefined;
  if (saved && (!expires || expires * 1000 > Date.now())) start(saved);
  else $('sign-in').hidden = false;
}

void main();
