// tally wall display: one office (`/display/{tenant}/{office}`, a tile per room), or every
// office of a tenant (`/display/{tenant}`, a tile per office with its total and capacity), live
// over the display WebSocket (`GET /v1/live`).
//
// - The viewer token comes in the URL fragment (`#token=…`, which browsers never send to a
//   server), is kept in localStorage and removed from the address bar. REST reads send it in the
//   Authorization header; the WebSocket sends it as `access_token` (browsers cannot set headers
//   on a WebSocket; the node does not log query strings).
// - Subscribe → snapshot → deltas by version. A version gap resubscribes (→ snapshot); so does
//   every reconnect. Reconnects back off exponentially with jitter.
// - "Live" means: a snapshot arrived on the socket that is open now. Whenever that is not true
//   (socket down, or waiting for the snapshot after a reconnect) the tiles are greyed and a banner
//   says "Reconnecting…" with the time of the data shown. Offices publish only on change, so a
//   quiet socket is normal; after QUIET_MS without a frame the page resubscribes as a liveness
//   check, and a snapshot that does not come within ANSWER_MS counts as a dead connection.
// - A missing, invalid or expired token (HTTP 401, close code 4401) stops reconnecting and shows
//   how to get a display link.
'use strict';

(() => {
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const QUIET_MS = 60000;
  const ANSWER_MS = 10000;
  const PAGE_MS = 15000;
  const NAMES_REFRESH_MS = 30000;
  const MIN_TILE_W = 170; // CSS pixels; an office whose tiles would be smaller is paginated
  const MIN_TILE_H = 120;
  const TILE_ASPECT = 1.5;
  const AUTH_CODES = new Set(['unauthenticated', 'token_expired']);

  const $ = (id) => document.getElementById(id);
  const parts = location.pathname.split('/');
  const tenant = decodeURIComponent(parts[2] || '');
  const office = decodeURIComponent(parts[3] || '');
  const wholeTenant = office === ''; // tenant-wide: tiles are offices
  const storeKey = `tally.display.token.${tenant}`;
  const base = `/v1/tenants/${encodeURIComponent(tenant)}/offices`;

  const state = {
    token: takeToken(),
    officeName: office,
    names: new Map(), // room id → display name
    namesFetchedAt: 0,
    rooms: new Map(), // room id → RoomOccupancy
    total: 0,
    capacity: 0,
    version: null, // null while waiting for a snapshot
    ws: null,
    attempt: 0,
    retryTimer: null,
    quietTimer: null,
    answerTimer: null,
    lastUpdate: null,
    stopped: false,
    snapshots: 0,
    sockets: 0, // WebSockets opened so far
    tiles: new Map(), // room id → element
    order: [],
    page: 0,
    pages: 1,
  };

  /** The token from the fragment (then stored and removed from the address bar) or storage. */
  function takeToken() {
    const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
    if (fromHash) {
      try { localStorage.setItem(storeKey, fromHash); } catch (_) { /* private mode */ }
      history.replaceState(null, '', location.pathname + location.search);
      return fromHash;
    }
    try { return localStorage.getItem(storeKey); } catch (_) { return null; }
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  /** Utilization state: free < 50 %, busy 50 % to < 100 %, full = 100 %, over > 100 %. */
  function utilization(count, capacity) {
    if (count > capacity) return ['over', 'Over capacity'];
    if (capacity === 0) return ['free', 'Free'];
    if (count === capacity) return ['full', 'Full'];
    if (count * 2 >= capacity) return ['busy', 'Busy'];
    return ['free', 'Free'];
  }

  function setConn(conn, banner, kind) {
    document.body.dataset.conn = conn;
    const el = $('banner');
    el.hidden = !banner;
    el.textContent = banner || '';
    el.dataset.kind = kind || '';
    renderHeader();
  }

  function clearTimers() {
    clearTimeout(state.quietTimer);
    clearTimeout(state.answerTimer);
    clearTimeout(state.retryTimer);
  }

  async function fetchJson(path) {
    const response = await fetch(path, {
      headers: { Authorization: `Bearer ${state.token}` },
      cache: 'no-store',
      credentials: 'omit',
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (body && body.error) || {};
      throw { status: response.status, code: error.code || '', message: error.message || response.statusText };
    }
    return body;
  }

  /** Room and office names (REST), so that tiles show names rather than ids. */
  async function fetchNames() {
    state.namesFetchedAt = Date.now();
    if (wholeTenant) {
      const offices = await fetchJson(base);
      for (const o of offices) state.names.set(o.id, o.name || o.id);
      state.officeName = tenant;
      return;
    }
    const [rooms, offices] = await Promise.all([
      fetchJson(`${base}/${encodeURIComponent(office)}/rooms`),
      fetchJson(base).catch(() => []),
    ]);
    for (const room of rooms) state.names.set(room.id, room.name || room.id);
    const own = offices.find((o) => o.id === office);
    if (own && own.name) state.officeName = own.name;
  }

  async function connect() {
    state.retryTimer = null;
    if (state.stopped) return;
    if (!state.token) return stopForAuth('unauthenticated', 'no token in this browser');
    try {
      await fetchNames();
    } catch (err) {
      if (err.status === 401 || AUTH_CODES.has(err.code)) return stopForAuth(err.code, err.message);
      if (err.status === 404) {
        return reconnectLater(`Office “${office}” not found for this display's token: retrying…`);
      }
      return reconnectLater();
    }
    openSocket();
  }

  function openSocket() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${scheme}//${location.host}/v1/live?access_token=${encodeURIComponent(state.token)}`;
    const ws = new WebSocket(url, 'tally.v1.json');
    state.ws = ws;
    state.sockets += 1;
    document.body.dataset.sockets = state.sockets;
    ws.onopen = () => subscribe();
    ws.onmessage = (event) => {
      if (ws !== state.ws) return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      onFrame(frame);
    };
    ws.onclose = (event) => {
      if (ws !== state.ws) return;
      state.ws = null;
      state.version = null;
      clearTimers();
      const code = (event.reason || '').split(':')[0];
      if (event.code === 4401 || AUTH_CODES.has(code)) return stopForAuth(code, event.reason);
      reconnectLater();
    };
  }

  /** Asks for a snapshot; a socket that does not answer within ANSWER_MS is closed. */
  function subscribe() {
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    state.version = null;
    ws.send(JSON.stringify(wholeTenant ? { type: 'subscribe_tenant' } : { type: 'subscribe', office }));
    clearTimeout(state.answerTimer);
    // Over a dead connection close() may wait long for its handshake: reconnect at once.
    state.answerTimer = setTimeout(() => {
      if (ws !== state.ws) return;
      state.ws = null;
      ws.close(4000, 'no snapshot');
      reconnectLater();
    }, ANSWER_MS);
  }

  /** A tenant frame in the shape of an office frame: offices become the tiles. */
  function asOfficeFrame(frame) {
    const type = frame.type === 'tenant_snapshot' ? 'snapshot' : 'delta';
    const rooms = frame.offices.map((o) => ({
      room: o.office, count: o.total, capacity: o.capacity, stale_sensors: o.stale_rooms,
    }));
    for (const o of frame.offices) state.names.set(o.office, o.name || o.office);
    return { ...frame, type, office: '', rooms };
  }

  function onFrame(frame) {
    if (wholeTenant && (frame.type === 'tenant_snapshot' || frame.type === 'tenant_delta')) {
      frame = asOfficeFrame(frame);
    }
    clearTimeout(state.quietTimer);
    state.quietTimer = setTimeout(subscribe, QUIET_MS);
    if (frame.type === 'snapshot' && frame.office === office) {
      clearTimeout(state.answerTimer);
      state.rooms = new Map(frame.rooms.map((r) => [r.room, r]));
      state.version = frame.version;
      state.total = frame.total;
      state.capacity = frame.capacity;
      state.snapshots += 1;
      state.attempt = 0;
      state.lastUpdate = Date.now();
      setConn('live');
      renderAll();
    } else if (frame.type === 'delta' && frame.office === office) {
      if (state.version === null || frame.version <= state.version) return; // old subscription
      if (frame.version !== state.version + 1) return subscribe(); // a gap: resync
      for (const room of frame.rooms) {
        const old = state.rooms.get(room.room);
        state.capacity += room.capacity - (old ? old.capacity : 0);
        state.rooms.set(room.room, room);
      }
      state.version = frame.version;
      state.total = frame.total;
      state.lastUpdate = Date.now();
      if (frame.rooms.some((r) => !state.tiles.has(r.room))) renderAll();
      else frame.rooms.forEach(renderTile);
      renderHeader();
    } else if (frame.type === 'error') {
      if (AUTH_CODES.has(frame.code)) return stopForAuth(frame.code, frame.message);
      const ws = state.ws;
      state.ws = null;
      if (ws) ws.close(4000, 'subscription failed');
      reconnectLater(`${frame.message}: retrying…`);
    }
  }

  function reconnectLater(message) {
    clearTimers();
    if (state.stopped) return;
    state.attempt += 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (state.attempt - 1));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2); // "equal jitter"
    const since = state.lastUpdate ? ` Showing data from ${clock(state.lastUpdate)}.` : '';
    setConn('reconnecting', message || `Reconnecting…${since}`, 'down');
    state.retryTimer = setTimeout(connect, delay);
  }

  function stopForAuth(code, message) {
    state.stopped = true;
    document.body.dataset.socketsAtStop = state.sockets;
    clearTimers();
    const ws = state.ws;
    state.ws = null;
    if (ws) ws.close(1000, 'token rejected');
    try { localStorage.removeItem(storeKey); } catch (_) { /* private mode */ }
    const expired = code === 'token_expired';
    $('help-title').textContent = !state.token
      ? 'This display needs a viewer token'
      : expired ? "This display's token has expired" : "This display's token was not accepted";
    const said = (message || '').replace(/^[a-z_]+: /, '');
    $('help-reason').textContent = said && !/expired/.test(said) ? `(${said})` : '';
    $('help-command').textContent = `POST /v1/tenants/${tenant}/tokens  {"role":"viewer"}`;
    const page = wholeTenant ? tenant : `${tenant}/${office}`;
    $('help-url').textContent = `${location.origin}/display/${page}#token=…`;
    $('help').hidden = false;
    setConn('auth', expired ? 'Not connected: the token has expired' : 'Not connected: no valid token', 'auth');
  }

  function tileFor(id) {
    let tile = state.tiles.get(id);
    if (tile) return tile;
    tile = document.createElement('article');
    tile.className = 'tile';
    tile.dataset.room = id;
    const name = document.createElement('div');
    name.className = 'name';
    const count = document.createElement('div');
    count.className = 'count';
    const n = document.createElement('span');
    n.className = 'n';
    const cap = document.createElement('span');
    cap.className = 'cap';
    count.append(n, cap);
    const label = document.createElement('div');
    label.className = 'label';
    const offline = document.createElement('div');
    offline.className = 'offline';
    offline.textContent = wholeTenant ? '⚠ Sensors offline' : '⚠ Sensor offline';
    tile.append(name, count, label, offline);
    state.tiles.set(id, tile);
    return tile;
  }

  function renderTile(room) {
    const tile = tileFor(room.room);
    const [util, label] = utilization(room.count, room.capacity);
    const stale = room.stale_sensors > 0;
    tile.className = `tile util-${util}${stale ? ' stale' : ''}`;
    tile.dataset.state = util;
    tile.dataset.count = room.count;
    tile.dataset.capacity = room.capacity;
    tile.dataset.stale = room.stale_sensors || 0;
    tile.querySelector('.name').textContent = state.names.get(room.room) || room.room;
    tile.querySelector('.n').textContent = room.count;
    tile.querySelector('.cap').textContent = ` / ${room.capacity}`;
    tile.querySelector('.label').textContent = label;
  }

  function renderAll() {
    const unknown = [...state.rooms.keys()].some((id) => !state.names.has(id));
    if (unknown && Date.now() - state.namesFetchedAt > NAMES_REFRESH_MS) {
      fetchNames().then(renderAll, () => {});
    }
    const name = (id) => state.names.get(id) || id;
    state.order = [...state.rooms.keys()].sort((a, b) =>
      name(a).localeCompare(name(b), undefined, { numeric: true }));
    for (const [id, tile] of state.tiles) {
      if (!state.rooms.has(id)) { tile.remove(); state.tiles.delete(id); }
    }
    state.order.forEach((id) => renderTile(state.rooms.get(id)));
    $('grid').replaceChildren(...state.order.map((id) => state.tiles.get(id)));
    renderHeader();
    layout();
  }

  function renderHeader() {
    $('office-name').textContent = state.officeName;
    $('total-label').textContent = wholeTenant ? 'In all offices' : 'In the office';
    document.title = `${state.officeName} · tally`;
    $('total-count').textContent = state.lastUpdate ? state.total : '–';
    $('total-capacity').textContent = state.lastUpdate ? state.capacity : '–';
    const [util] = utilization(state.total, state.capacity);
    $('total').dataset.state = util;
    const pct = state.capacity ? Math.min(100, (100 * state.total) / state.capacity) : 0;
    $('total-bar').style.width = `${pct}%`;
    const conn = document.body.dataset.conn;
    $('updated').textContent = conn === 'auth' ? 'Not connected'
      : !state.lastUpdate ? 'Connecting…'
      : conn === 'live' ? `Live · updated ${clock(state.lastUpdate)}` : `Last update ${clock(state.lastUpdate)}`;
    document.body.dataset.snapshots = state.snapshots;
    document.body.dataset.version = state.version === null ? '' : state.version;
  }

  /** Columns and rows that make the largest tiles; pages when tiles would get too small. */
  function layout() {
    const grid = $('grid');
    const width = grid.clientWidth;
    const height = grid.clientHeight;
    const gap = parseFloat(getComputedStyle(grid).rowGap) || 0;
    const n = state.order.length;
    const maxCols = Math.max(1, Math.floor((width + gap) / (MIN_TILE_W + gap)));
    const maxRows = Math.max(1, Math.floor((height + gap) / (MIN_TILE_H + gap)));
    state.pages = Math.max(1, Math.ceil(n / (maxCols * maxRows)));
    state.page %= state.pages;
    const perPage = Math.max(1, Math.ceil(n / state.pages));
    let best = [1, perPage];
    let bestScore = -1;
    for (let cols = 1; cols <= Math.min(perPage, maxCols); cols += 1) {
      const rows = Math.ceil(perPage / cols);
      if (rows > maxRows) continue;
      const w = (width - (cols - 1) * gap) / cols;
      const h = (height - (rows - 1) * gap) / rows;
      const score = Math.min(w, h * TILE_ASPECT);
      if (score > bestScore) { bestScore = score; best = [cols, rows]; }
    }
    grid.style.setProperty('--cols', best[0]);
    grid.style.setProperty('--rows', best[1]);
    state.order.forEach((id, i) => {
      state.tiles.get(id).hidden = Math.floor(i / perPage) !== state.page;
    });
    const indicator = $('page-indicator');
    indicator.hidden = state.pages < 2;
    indicator.textContent = `Page ${state.page + 1} / ${state.pages}`;
    document.body.dataset.pages = state.pages;
    document.body.dataset.viewport = `${window.innerWidth}x${window.innerHeight}`;
  }

  setInterval(() => {
    if (state.pages > 1) { state.page = (state.page + 1) % state.pages; layout(); }
  }, PAGE_MS);
  window.addEventListener('resize', layout);
  window.addEventListener('online', () => {
    if (state.retryTimer && !state.stopped) { clearTimeout(state.retryTimer); connect(); }
  });
  // For tests and debugging: feed a frame as if it came from the socket.
  window.tallyDisplay = { frame: onFrame };

  setConn('connecting');
  connect();
})();
