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
  client = new HeraldClient({ token: () => localStorage.getItem(TOKEN_KEY) ?? token });
  client.on('status', showStatus);
  client.on('change', render);
  client.on('notification', (notification) => {
    $('announcer').textContent = `New notification: ${notification.title}`;
  });
  client.connect();
}

function showStatus(status) {
  $('status').dataset.status = status;
  $('status-text').textContent = STATUS_TEXT[status];
}

function render() {
  const { notifications, unreadCount } = client;
  $('badge').hidden = unreadCount === 0;
  $('badge').textContent = unreadCount > 99 ? '99+' : String(unreadCount);
  $('bell-label').textContent = `Notifications, ${unreadCount} unread`;
  $('empty').hidden = notifications.length > 0;
  $('read-all').disabled = unreadCount === 0;
  $('list').replaceChildren(...notifications.map(itemOf));
}

function itemOf(notification) {
  const item = document.createElement('li');
  item.className = notification.readAt ? 'item' : 'item unread';
  item.dataset.id = notification.id;
  const title = document.createElement('span');
  title.className = 'title';
  title.textContent = notification.title;
  const body = document.createElement('p');
  body.className = 'body';
  body.textContent = notification.body ?? '';
  const meta = document.createElement('p');
  meta.className = 'meta';
  const when = new Date(notification.createdAt).toLocaleString();
  meta.textContent = `${notification.type} · ${notification.priority} · ${when}`;
  const actions = document.createElement('div');
  actions.className = 'actions';
  const read = button(notification.readAt ? 'Mark unread' : 'Mark read', () =>
    client.markRead(notification.id, !notification.readAt),
  );
  read.setAttribute('aria-label', `${read.textContent}: ${notification.title}`);
  const archive = button('Archive', () => client.archive(notification.id));
  archive.setAttribute('aria-label', `Archive: ${notification.title}`);
  actions.append(read, archive);
  item.append(title, actions, body, meta);
  return item;
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
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !$('panel').hidden && client) $('bell').click();
  });
  $('read-all').addEventListener('click', () => client.markAllRead());
  $('sign-out').addEventListener('click', () => {
    localStorage.removeItem(TOKEN_KEY);
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
