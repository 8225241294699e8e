// @ts-check
// The rollcall dashboard page: no framework, no build step. Everything shown comes from the server's
// event stream (a snapshot, then deltas); the DOM is built with createElement and textContent only —
// never innerHTML — so names and metadata can only ever be text.

/** @typedef {{ size: Element, chart: Element, pageLabel: Element, rows: Element, keys: Element }} Parts */
/** @typedef {{ id: string, seq: string, metadata: unknown, joinedAt: number, updatedAt: number }} Member */
/** @typedef {{ name: string, seats: number, candidates: Member[], since: number | null, sinceExact: boolean, transitions: number }} Contest */
/** @typedef {{ label: string, backend: string, memberId: string, sessionTimeout: number, session: string, sessionSince: number, roundTrip: number | null, startedAt: number, config: string }} Server */
/**
 * @typedef {{ at: number, kind: string, group?: string, memberId?: string, seq?: string, reason?: string, size?: number,
 *   contest?: string, name?: string, holder?: string | null, token?: string | null,
 *   event?: string, key?: string | null, detail?: string | null }} Entry
 */
/**
 * @typedef {{ name: string, members: Map<string, Member>, sorted: Member[] | null, history: [number, number][],
 *   ownership: [string, string | null][] | null,
 *   page: number, filter: string, card: HTMLElement | null, parts: Parts | null }} Group
 */
/** @typedef {{ key: string, value: unknown, version: string, updatedAt: number }} ConfigEntry */
/**
 * @typedef {{ at: number, kind: string, key: string, value?: unknown, version?: string, updatedAt?: number,
 *   revision?: string, resync?: boolean }} ConfigChange
 */
/** @typedef {{ size: Element, pageLabel: Element, rows: Element, history: Element }} ConfigParts */
/** @typedef {{ engaged: boolean, since: number | null, departures: number, size: number, releasedAt: number | null }} Brake */
/**
 * @typedef {{ key: string, memberId: string, seq: string, reason: string, departedAt: number | null, attempts: number,
 *   running: boolean, lastError: string | null, updatedAt: number }} Pending
 */
/** @typedef {{ name: string, election: string, token: string, brake: Brake | null, pending: Pending[], pendingCount: number }} Reactor */
/**
 * @typedef {{ name: string, entries: Map<string, ConfigEntry>, sorted: ConfigEntry[] | null, history: ConfigChange[],
 *   historyDirty: boolean, page: number, filter: string, card: HTMLElement | null, parts: ConfigParts | null }} Config
 */

const HISTORY_RESOLUTION_MS = 1000;
const CHART_WINDOW_MS = 10 * 60 * 1000;
const CHART_MIN_WINDOW_MS = 30 * 1000;
const TIMELINE_KEPT = 500;
const TIMELINE_SHOWN = 200;
const TEXT_SHOWN = 300;
const TITLE_SHOWN = 2000;

const state = {
  /** The event stream is open and a snapshot arrived. */
  live: false,
  /** @type {Server | null} */
  server: null,
  /** Server clock minus this page's clock (ms). */
  offset: 0,
  /** When the stream was lost (this page's clock). */
  lostAt: 0,
  pageSize: 50,
  /** @type {Map<string, Group>} */
  groups: new Map(),
  /** @type {Map<string, Contest>} */
  elections: new Map(),
  /** @type {Map<string, Contest>} */
  locks: new Map(),
  /** @type {Entry[]} */
  timeline: [],
  timelineDirty: true,
  /** @type {Map<string, Config>} */
  configs: new Map(),
  /** Changes kept per configuration (the server says how many). */
  configHistoryLength: 50,
  /** @type {Map<string, Reactor>} */
  reactors: new Map(),
};

// ---- text that is always safe and visible --------------------------------------------------------

/** Control, format and bidi characters as visible `\u{…}` escapes, so text cannot hide or reorder itself. */
function visible(/** @type {string} */ text) {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g,
    (c) => `\\u{${c.codePointAt(0)?.toString(16).padStart(4, "0")}}`,
  );
}

/** At most `max` characters, saying how many more there were. */
function short(/** @type {string} */ text, /** @type {number} */ max) {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more)`;
}

/**
 * An element with text children only. Attributes are set with setAttribute from fixed names chosen
 * here (class, data-*, title, aria-*), never event handlers.
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {(string | Node)[]} children
 */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children)
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  return element;
}

// ---- time ------------------------------------------------------------------------------------------

function serverNow() {
  return Date.now() + state.offset;
}

/** A duration as `4s`, `3m 12s`, `2h 5m`, `3d 4h`. */
function duration(/** @type {number} */ ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function age(/** @type {number} */ at) {
  return `${duration(serverNow() - at)} ago`;
}

function clock(/** @type {number} */ at) {
  const d = new Date(at - state.offset);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

// ---- state changes from the stream ------------------------------------------------------------------

/** @param {{ name: string, members: Member[], history: [number, number][], ownership: [string, string | null][] | null }} wire */
function addGroup(wire) {
  const old = state.groups.get(wire.name);
  /** @type {Group} */
  const group = {
    name: wire.name,
    members: new Map(wire.members.map((m) => [m.id, m])),
    sorted: null,
    history: wire.history.map(([t, n]) => [t, n]),
    ownership: wire.ownership,
    page: old?.page ?? 0,
    filter: old?.filter ?? "",
    card: old?.card ?? null,
    parts: old?.parts ?? null,
  };
  state.groups.set(wire.name, group);
}

/** @param {{ name: string, entries: ConfigEntry[], history: ConfigChange[] }} wire */
function addConfig(wire) {
  const old = state.configs.get(wire.name);
  state.configs.set(wire.name, {
    name: wire.name,
    entries: new Map(wire.entries.map((e) => [e.key, e])),
    sorted: null,
    history: [...wire.history],
    historyDirty: true,
    page: old?.page ?? 0,
    filter: old?.filter ?? "",
    card: old?.card ?? null,
    parts: old?.parts ?? null,
  });
}

/** A put or delete of a configuration: its entries follow, and it goes first in the history. */
function changeConfig(/** @type {Config} */ config, /** @type {ConfigChange} */ change) {
  if (change.kind === "put") {
    /** @type {ConfigEntry} */
    const entry = {
      key: change.key,
      value: change.value,
      version: change.version ?? "",
      updatedAt: change.updatedAt ?? change.at,
    };
    const existing = config.entries.get(change.key);
    config.entries.set(change.key, entry);
    if (existing && config.sorted) config.sorted[config.sorted.indexOf(existing)] = entry;
    else config.sorted = null;
  } else if (config.entries.delete(change.key)) {
    config.sorted = null;
  }
  config.history.unshift(change);
  if (config.history.length > state.configHistoryLength) config.history.length = state.configHistoryLength;
  config.historyDirty = true;
}

function sample(/** @type {Group} */ group, /** @type {number} */ at) {
  const size = group.members.size;
  const last = group.history.at(-1);
  if (last && last[1] === size) return;
  if (last && at - last[0] < HISTORY_RESOLUTION_MS) last[1] = size;
  else group.history.push([at, size]);
  if (group.history.length > 600) group.history.shift();
}

function remember(/** @type {Entry} */ entry) {
  state.timeline.push(entry);
  if (state.timeline.length > TIMELINE_KEPT) state.timeline.shift();
  state.timelineDirty = true;
}

/** @param {Map<string, Contest>} map @param {Contest} contest @param {string} kind @param {number} at */
function setContest(map, contest, kind, at) {
  const before = map.get(contest.name);
  map.set(contest.name, contest);
  if (before && contest.transitions > before.transitions) {
    const holder = contest.candidates[0];
    remember({
      at,
      kind: "leader",
      contest: kind,
      name: contest.name,
      holder: holder?.id ?? null,
      token: holder?.seq ?? null,
    });
  }
}

/** @param {any} message */
function apply(message) {
  switch (message.type) {
    case "snapshot": {
      state.offset = message.now - Date.now();
      state.server = message.server;
      state.pageSize = message.pageSize;
      const names = new Set(message.groups.map((/** @type {{ name: string }} */ g) => g.name));
      for (const [name, group] of state.groups) {
        if (!names.has(name)) {
          group.card?.remove();
          state.groups.delete(name);
        }
      }
      for (const g of message.groups) addGroup(g);
      state.elections = new Map(message.elections.map((/** @type {Contest} */ c) => [c.name, c]));
      state.locks = new Map(message.locks.map((/** @type {Contest} */ c) => [c.name, c]));
      state.timeline = message.timeline;
      state.timelineDirty = true;
      state.configHistoryLength = message.configHistoryLength;
      const configNames = new Set(message.configs.map((/** @type {{ name: string }} */ c) => c.name));
      for (const [name, config] of state.configs) {
        if (!configNames.has(name)) {
          config.card?.remove();
          state.configs.delete(name);
        }
      }
      for (const c of message.configs) addConfig(c);
      state.reactors = new Map(message.reactors.map((/** @type {Reactor} */ r) => [r.name, r]));
      state.live = true;
      return;
    }
    case "session":
      if (state.server) {
        state.server.session = message.state;
        state.server.sessionSince = message.at;
      }
      return;
    case "renewed":
      if (state.server) state.server.roundTrip = message.roundTrip;
      return;
    case "group-added":
      addGroup(message.group);
      return;
    case "ownership": {
      const group = state.groups.get(message.group);
      if (group) group.ownership = message.ownership.length ? message.ownership : null;
      return;
    }
    case "group-removed":
      state.groups.get(message.name)?.card?.remove();
      state.groups.delete(message.name);
      return;
    case "group-snapshot": {
      const group = state.groups.get(message.name);
      if (!group) return;
      group.members = new Map(message.members.map((/** @type {Member} */ m) => [m.id, m]));
      group.sorted = null;
      sample(group, message.at);
      remember({ at: message.at, kind: "resync", group: message.name, size: message.members.length });
      return;
    }
    case "join":
    case "update": {
      const group = state.groups.get(message.group);
      if (!group) return;
      const existing = group.members.get(message.member.id);
      group.members.set(message.member.id, message.member);
      if (!existing || existing.seq !== message.member.seq) group.sorted = null;
      else if (group.sorted) group.sorted[group.sorted.indexOf(existing)] = message.member;
      sample(group, message.at);
      remember({
        at: message.at,
        kind: message.type,
        group: message.group,
        memberId: message.member.id,
        seq: message.member.seq,
      });
      return;
    }
    case "leave": {
      const group = state.groups.get(message.group);
      if (!group) return;
      if (group.members.delete(message.memberId)) group.sorted = null;
      sample(group, message.at);
      remember({
        at: message.at,
        kind: "leave",
        group: message.group,
        memberId: message.memberId,
        reason: message.reason,
      });
      return;
    }
    case "election":
      setContest(state.elections, message.contest, "election", message.at);
      return;
    case "lock":
      setContest(state.locks, message.contest, "lock", message.at);
      return;
    case "election-removed":
      state.elections.delete(message.name);
      return;
    case "lock-removed":
      state.locks.delete(message.name);
      return;
    case "config-added":
      addConfig(message.config);
      return;
    case "config-removed":
      state.configs.get(message.name)?.card?.remove();
      state.configs.delete(message.name);
      return;
    case "config-snapshot": {
      const config = state.configs.get(message.name);
      if (!config) return;
      config.entries = new Map(message.entries.map((/** @type {ConfigEntry} */ e) => [e.key, e]));
      config.sorted = null;
      return;
    }
    case "config-change": {
      const config = state.configs.get(message.name);
      if (config) changeConfig(config, message.change);
      return;
    }
    case "reactor":
      state.reactors.set(message.reactor.name, message.reactor);
      return;
    case "reactor-removed":
      state.reactors.delete(message.name);
      return;
    case "reactor-event":
      remember(message.entry);
      return;
  }
}

// ---- rendering --------------------------------------------------------------------------------------

function bySeq(/** @type {Member} */ a, /** @type {Member} */ b) {
  return a.seq.length - b.seq.length || (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0);
}

function sortedMembers(/** @type {Group} */ group) {
  group.sorted ??= [...group.members.values()].sort(bySeq);
  return group.sorted;
}

const SVG = "http://www.w3.org/2000/svg";

/** The group's size over the last ten minutes as a step line. */
function chart(/** @type {Group} */ group) {
  const width = 180;
  const height = 36;
  const now = serverNow();
  // The last ten minutes, or less while the history is shorter (but at least half a minute).
  const span = Math.min(CHART_WINDOW_MS, Math.max(CHART_MIN_WINDOW_MS, now - (group.history[0]?.[0] ?? now)));
  const from = now - span;
  const points = group.history.filter(([t]) => t >= from);
  const before = group.history.filter(([t]) => t < from).at(-1);
  /** @type {[number, number][]} */
  const series = before ? [[from, before[1]], ...points] : points;
  const max = Math.max(1, ...series.map(([, n]) => n));
  const x = (/** @type {number} */ t) => (((t - from) / span) * width).toFixed(1);
  const y = (/** @type {number} */ n) => (height - 2 - (n / max) * (height - 4)).toFixed(1);
  /** @type {string[]} */
  const coords = [];
  let previous = series[0]?.[1] ?? group.members.size;
  for (const [t, n] of series) {
    coords.push(`${x(t)},${y(previous)}`, `${x(t)},${y(n)}`);
    previous = n;
  }
  coords.push(`${x(now)},${y(previous)}`);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `size over the last ${duration(span)}, at most ${max}`);
  const title = document.createElementNS(SVG, "title");
  title.textContent = `size over the last ${duration(span)} (at most ${max})`;
  svg.append(title);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", coords.join(" "));
  svg.append(line);
  return svg;
}

function groupCard(/** @type {Group} */ group) {
  if (group.card) return group.card;
  const filter = /** @type {HTMLInputElement} */ (
    h("input", { type: "search", placeholder: "filter by id", "aria-label": "filter members by id" })
  );
  filter.value = group.filter;
  filter.addEventListener("input", () => {
    group.filter = filter.value;
    group.page = 0;
    render();
  });
  const previous = h("button", { type: "button", "data-page": "previous" }, "‹");
  const next = h("button", { type: "button", "data-page": "next" }, "›");
  previous.addEventListener("click", () => {
    group.page = Math.max(0, group.page - 1);
    render();
  });
  next.addEventListener("click", () => {
    group.page++;
    render();
  });
  const parts = {
    size: h("span", { class: "size" }),
    chart: h("span", { class: "chart-slot" }),
    pageLabel: h("span", { class: "page" }),
    rows: h("tbody"),
    keys: h("p", { class: "keys" }),
  };
  const card = h(
    "article",
    { class: "group", "data-group": group.name },
    h("div", { class: "group-head" }, h("h3", {}, visible(group.name)), parts.size, parts.chart),
    parts.keys,
    h("div", { class: "tools" }, filter, previous, parts.pageLabel, next),
    h(
      "table",
      { class: "members" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, "id"),
          h("th", {}, "seq"),
          h("th", {}, "metadata"),
          h("th", {}, "joined"),
          h("th", {}, "updated"),
        ),
      ),
      parts.rows,
    ),
  );
  group.card = card;
  group.parts = parts;
  return card;
}

function renderGroup(/** @type {Group} */ group) {
  const card = groupCard(group);
  const { size, chart: chartSlot, pageLabel, rows, keys } = /** @type {Parts} */ (group.parts);
  keys.replaceChildren(
    ...(group.ownership ?? []).map(([key, owner]) =>
      h(
        "span",
        { class: "key", "data-key": key, "data-owner": owner ?? "" },
        `${visible(short(key, 60))} → ${owner ? visible(owner) : "nobody"}`,
      ),
    ),
  );
  keys.toggleAttribute("hidden", !group.ownership);
  size.textContent = String(group.members.size);
  card.setAttribute("data-size", String(group.members.size));
  chartSlot.replaceChildren(chart(group));
  const all = sortedMembers(group);
  const shown = group.filter ? all.filter((m) => m.id.includes(group.filter)) : all;
  const pages = Math.max(1, Math.ceil(shown.length / state.pageSize));
  group.page = Math.min(group.page, pages - 1);
  const start = group.page * state.pageSize;
  pageLabel.textContent = `${shown.length === 0 ? 0 : start + 1}–${Math.min(start + state.pageSize, shown.length)} of ${shown.length}`;
  rows.replaceChildren(
    ...shown.slice(start, start + state.pageSize).map((m) => {
      const text = visible(JSON.stringify(m.metadata));
      return h(
        "tr",
        { "data-member": m.id, "data-seq": m.seq },
        h("td", {}, visible(m.id)),
        h("td", {}, m.seq),
        h("td", { class: "meta", title: short(text, TITLE_SHOWN) }, short(text, TEXT_SHOWN)),
        h("td", { title: clock(m.joinedAt) }, age(m.joinedAt)),
        h("td", { title: clock(m.updatedAt) }, age(m.updatedAt)),
      );
    }),
  );
  if (shown.length === 0)
    rows.append(
      h(
        "tr",
        {},
        h("td", { colspan: "5", class: "empty" }, group.filter ? "no member matches" : "no members"),
      ),
    );
  return card;
}

function renderGroups() {
  const container = /** @type {HTMLElement} */ (document.getElementById("groups"));
  const cards = [...state.groups.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(renderGroup);
  if (cards.length === 0) {
    container.replaceChildren(h("p", { class: "empty" }, state.live ? "no groups yet" : "connecting…"));
    return;
  }
  // Re-attach only when the groups changed: moving a card would take the focus from its filter box.
  const current = [...container.children];
  if (current.length !== cards.length || cards.some((card, i) => current[i] !== card)) {
    container.replaceChildren(...cards);
  }
}

/** A value as one line of visible text, cut at `max` characters. */
function valueText(/** @type {unknown} */ value, /** @type {number} */ max) {
  return short(visible(JSON.stringify(value) ?? "null"), max);
}

/** A put or delete of a configuration, as the history shows it. */
function describeChange(/** @type {ConfigChange} */ c) {
  const key = visible(c.key);
  const text =
    c.kind === "put"
      ? `${key} = ${valueText(c.value, TEXT_SHOWN)} (version ${c.version})`
      : `${key} deleted (revision ${c.revision})`;
  return c.resync ? `${text}, after a resync` : text;
}

function configCard(/** @type {Config} */ config) {
  if (config.card) return config.card;
  const filter = /** @type {HTMLInputElement} */ (
    h("input", { type: "search", placeholder: "filter by key", "aria-label": "filter entries by key" })
  );
  filter.value = config.filter;
  filter.addEventListener("input", () => {
    config.filter = filter.value;
    config.page = 0;
    render();
  });
  const previous = h("button", { type: "button", "data-page": "previous" }, "‹");
  const next = h("button", { type: "button", "data-page": "next" }, "›");
  previous.addEventListener("click", () => {
    config.page = Math.max(0, config.page - 1);
    render();
  });
  next.addEventListener("click", () => {
    config.page++;
    render();
  });
  const parts = {
    size: h("span", { class: "size", title: "entries" }),
    pageLabel: h("span", { class: "page" }),
    rows: h("tbody"),
    history: h("ol", { class: "timeline history" }),
  };
  const card = h(
    "article",
    { class: "group config", "data-config": config.name },
    h("div", { class: "group-head" }, h("h3", {}, visible(config.name)), parts.size),
    h("div", { class: "tools" }, filter, previous, parts.pageLabel, next),
    h(
      "table",
      { class: "entries" },
      h(
        "thead",
        {},
        h("tr", {}, h("th", {}, "key"), h("th", {}, "value"), h("th", {}, "version"), h("th", {}, "updated")),
      ),
      parts.rows,
    ),
    h("h4", {}, "recent changes"),
    parts.history,
  );
  config.card = card;
  config.parts = parts;
  return card;
}

function renderConfig(/** @type {Config} */ config) {
  const card = configCard(config);
  const { size, pageLabel, rows, history } = /** @type {ConfigParts} */ (config.parts);
  size.textContent = String(config.entries.size);
  card.setAttribute("data-size", String(config.entries.size));
  config.sorted ??= [...config.entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const shown = config.filter ? config.sorted.filter((e) => e.key.includes(config.filter)) : config.sorted;
  const pages = Math.max(1, Math.ceil(shown.length / state.pageSize));
  config.page = Math.min(config.page, pages - 1);
  const start = config.page * state.pageSize;
  pageLabel.textContent = `${shown.length === 0 ? 0 : start + 1}–${Math.min(start + state.pageSize, shown.length)} of ${shown.length}`;
  rows.replaceChildren(
    ...shown.slice(start, start + state.pageSize).map((e) => {
      const text = visible(JSON.stringify(e.value) ?? "null");
      return h(
        "tr",
        { "data-key": e.key, "data-version": e.version },
        h("td", {}, visible(e.key)),
        h("td", { class: "meta value", title: short(text, TITLE_SHOWN) }, short(text, TEXT_SHOWN)),
        h("td", {}, e.version),
        h("td", { title: clock(e.updatedAt) }, age(e.updatedAt)),
      );
    }),
  );
  if (shown.length === 0)
    rows.append(
      h("tr", {}, h("td", { colspan: "4", class: "empty" }, config.filter ? "no key matches" : "no entries")),
    );
  if (config.historyDirty) {
    config.historyDirty = false;
    history.replaceChildren(
      ...config.history.map((c) =>
        h(
          "li",
          {
            class: `change-${c.kind}`,
            "data-change": c.kind,
            "data-key": c.key,
            "data-version": c.version ?? "",
            "data-resync": String(c.resync === true),
          },
          h("time", {}, clock(c.at)),
          h("span", {}, describeChange(c)),
        ),
      ),
    );
    if (config.history.length === 0)
      history.append(h("li", { class: "empty" }, "no changes since the dashboard started"));
  }
  return card;
}

function renderConfigs() {
  const section = /** @type {HTMLElement} */ (document.getElementById("configuration"));
  // A backend without a configuration store: no section at all.
  section.hidden = !state.server || state.server.config === "none";
  if (section.hidden) return;
  const container = /** @type {HTMLElement} */ (document.getElementById("configs"));
  const cards = [...state.configs.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(renderConfig);
  if (cards.length === 0) {
    container.replaceChildren(
      h("p", { class: "empty" }, state.live ? "no configuration yet" : "connecting…"),
    );
    return;
  }
  const current = [...container.children];
  if (current.length !== cards.length || cards.some((card, i) => current[i] !== card)) {
    container.replaceChildren(...cards);
  }
}

/** @param {string} id @param {Map<string, Contest>} contests @param {string} kind */
function renderContests(id, contests, kind) {
  const body = /** @type {HTMLElement} */ (document.querySelector(`#${id} tbody`));
  const rows = [...contests.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((c) => {
      const holders = c.candidates.slice(0, c.seats);
      const waiting = c.candidates.slice(c.seats);
      const first = holders[0];
      return h(
        "tr",
        {
          [`data-${kind}`]: c.name,
          "data-holder": first?.id ?? "",
          "data-token": first?.seq ?? "",
          "data-transitions": String(c.transitions),
        },
        h("td", {}, visible(c.name)),
        h("td", {}, holders.length ? holders.map((m) => visible(m.id)).join(", ") : "— nobody —"),
        h("td", {}, first?.seq ?? ""),
        h(
          "td",
          {},
          first && c.since !== null ? `${c.sinceExact ? "" : "≥ "}${duration(serverNow() - c.since)}` : "",
        ),
        h("td", {}, String(c.transitions)),
        h("td", {}, waiting.length ? waiting.map((m) => visible(m.id)).join(" → ") : "—"),
      );
    });
  if (rows.length === 0) rows.push(h("tr", {}, h("td", { colspan: "6", class: "empty" }, `no ${kind}s`)));
  body.replaceChildren(...rows);
}

/** A reactor's line of the timeline. */
function describeReactor(/** @type {Entry} */ e) {
  const name = `reactor ${visible(e.name ?? "")}`;
  const key = visible(e.key ?? "");
  const detail = e.detail ? short(visible(e.detail), TEXT_SHOWN) : "";
  if (e.key === null && e.event !== "braked" && e.event !== "released") return `${name}: ${detail}`;
  switch (e.event) {
    case "braked":
      return `${name} BRAKED: ${detail}; nothing is acted upon until it is released`;
    case "released":
      return `${name} released: it acts again`;
    case "departed":
      return `${name}: ${key} departed (${detail}); pending`;
    case "failed":
      return `${name}: the handler of ${key} failed, ${detail}; it is retried`;
    case "handled":
      return `${name}: ${key} handled`;
    case "cancelled":
      return `${name}: ${key} cancelled (the member came back)`;
    default:
      return `${name}: ${e.event ?? ""}`;
  }
}

function describe(/** @type {Entry} */ e) {
  switch (e.kind) {
    case "join":
      return `${visible(e.memberId ?? "")} joined ${visible(e.group ?? "")} (seq ${e.seq})`;
    case "update":
      return `${visible(e.memberId ?? "")} updated its metadata in ${visible(e.group ?? "")}`;
    case "leave":
      return `${visible(e.memberId ?? "")} left ${visible(e.group ?? "")}: ${e.reason}`;
    case "resync":
      return `${visible(e.group ?? "")} resynchronized: ${e.size} members`;
    case "leader":
      return e.holder
        ? `${visible(e.holder)} holds ${e.contest} ${visible(e.name ?? "")} (token ${e.token})`
        : `${e.contest} ${visible(e.name ?? "")} has no holder`;
    case "reactor":
      return describeReactor(e);
    default:
      return e.kind;
  }
}

// ---- reactors --------------------------------------------------------------------------------------

/** A stored time as the page says it: the clock time and how long ago. */
function since(/** @type {number | null} */ at) {
  return at === null ? "an unknown time" : `${clock(at)} (${age(at)})`;
}

function byName(/** @type {{ name: string }} */ a, /** @type {{ name: string }} */ b) {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The braked reactors the banners were built for (a live region is rebuilt only when they change). */
let bannersShown = "";

/** One banner per braked reactor, above everything: nothing is acted upon until an operator says so. */
function renderReactorBanners() {
  const box = /** @type {HTMLElement} */ (document.getElementById("reactor-banners"));
  const braked = [...state.reactors.values()].filter((r) => r.brake?.engaged).sort(byName);
  box.hidden = braked.length === 0;
  const shown = JSON.stringify(braked.map((r) => [r.name, r.brake]));
  if (shown === bannersShown) {
    // Only the ages move on; they are hidden from screen readers, so the alert is not read again.
    for (const span of box.querySelectorAll("[data-since]"))
      span.textContent = `(${age(Number(span.getAttribute("data-since")))})`;
    return;
  }
  bannersShown = shown;
  box.replaceChildren(
    ...braked.map((r) => {
      const brake = /** @type {Brake} */ (r.brake);
      const at = brake.since;
      return h(
        "p",
        { class: "reactor-banner", "data-reactor": r.name },
        h("strong", {}, `Reactor ${visible(r.name)} is BRAKED`),
        ` since ${at === null ? "an unknown time" : clock(at)}`,
        ...(at === null
          ? []
          : [" ", h("span", { "data-since": String(at), "aria-hidden": "true" }, `(${age(at)})`)]),
        `: ${brake.departures} of ${brake.size} members left at once; nothing is acted upon until released: `,
        h("code", {}, `rollcall react ${visible(r.name)} --release`),
      );
    }),
  );
}

/** What a reactor is doing, from its stored state and its election. */
function reactorStatus(/** @type {Reactor} */ r, /** @type {Member | undefined} */ holder) {
  if (r.brake?.engaged) return { status: "braked", label: "BRAKED" };
  if (!holder) return { status: "no-actor", label: "no actor: nobody acts on departures" };
  if (holder.seq !== r.token) return { status: "taking-over", label: "taking over" };
  return { status: "acting", label: "acting" };
}

function brakeText(/** @type {Brake | null} */ b) {
  if (!b) return "never engaged";
  const count = `${b.departures} of ${b.size} members left`;
  if (b.engaged) return `ENGAGED since ${since(b.since)}: ${count}`;
  return `released ${b.releasedAt === null ? "" : `${age(b.releasedAt)} `}(engaged at ${b.since === null ? "?" : clock(b.since)}: ${count})`;
}

function renderReactor(/** @type {Reactor} */ r) {
  const contest = state.elections.get(r.election);
  const holder = contest?.candidates[0];
  const standby = contest?.candidates.slice(1) ?? [];
  const { status, label } = reactorStatus(r, holder);
  /** @param {string} term @param {string} value */
  const item = (term, value) => h("div", {}, h("dt", {}, term), h("dd", {}, value));
  const rows = r.pending.map((p) => {
    const error = p.lastError === null ? "" : visible(p.lastError);
    const attempts = p.attempts === 0 ? "waiting" : p.running ? `${p.attempts}, running` : String(p.attempts);
    return h(
      "tr",
      {
        class: p.lastError === null ? "" : "failing",
        "data-key": p.key,
        "data-member": p.memberId,
        "data-attempts": String(p.attempts),
        "data-running": String(p.running),
      },
      h("td", {}, visible(p.key)),
      h("td", {}, p.reason),
      h(
        "td",
        p.departedAt === null ? {} : { title: clock(p.departedAt) },
        p.departedAt === null ? "?" : age(p.departedAt),
      ),
      h("td", { class: "attempts" }, attempts),
      h(
        "td",
        {
          class: "meta error",
          title:
            p.lastError === null ? "" : p.running ? "the next run is going" : `failed ${age(p.updatedAt)}`,
        },
        short(error, TEXT_SHOWN),
      ),
    );
  });
  if (r.pendingCount > r.pending.length)
    rows.push(
      h(
        "tr",
        {},
        h("td", { colspan: "5", class: "empty" }, `… and ${r.pendingCount - r.pending.length} more pending`),
      ),
    );
  if (rows.length === 0) rows.push(h("tr", {}, h("td", { colspan: "5", class: "empty" }, "nothing pending")));
  return h(
    "article",
    {
      class: `group reactor status-${status}`,
      "data-reactor": r.name,
      "data-status": status,
      "data-token": r.token,
      "data-holder": holder?.id ?? "",
      "data-pending": String(r.pendingCount),
    },
    h(
      "div",
      { class: "group-head" },
      h("h3", {}, visible(r.name)),
      h("span", { class: "reactor-status" }, label),
      h("span", { class: "size", title: "departures pending" }, String(r.pendingCount)),
    ),
    h(
      "dl",
      { class: "facts" },
      item("fencing token", r.token),
      item(
        "actor",
        holder
          ? `${visible(holder.id)} (election ${visible(r.election)}, token ${holder.seq})`
          : "— nobody —",
      ),
      item("standing by", standby.length ? standby.map((m) => visible(m.id)).join(", ") : "—"),
      item("brake", brakeText(r.brake)),
    ),
    h("h4", {}, "pending departures"),
    h(
      "table",
      { class: "pending" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, "departure"),
          h("th", {}, "reason"),
          h("th", {}, "departed"),
          h("th", {}, "attempts"),
          h("th", {}, "last error"),
        ),
      ),
      h("tbody", {}, ...rows),
    ),
  );
}

function renderReactors() {
  renderReactorBanners();
  const section = /** @type {HTMLElement} */ (document.getElementById("reactors"));
  // Most namespaces run no reactor: no section then.
  section.hidden = state.reactors.size === 0;
  if (section.hidden) return;
  const container = /** @type {HTMLElement} */ (document.getElementById("reactor-list"));
  container.replaceChildren(...[...state.reactors.values()].sort(byName).map(renderReactor));
}

function renderTimeline() {
  if (!state.timelineDirty) return;
  state.timelineDirty = false;
  const list = /** @type {HTMLElement} */ (document.getElementById("timeline"));
  const entries = state.timeline.slice(-TIMELINE_SHOWN).reverse();
  list.replaceChildren(
    ...entries.map((e) =>
      h(
        "li",
        {
          class: `kind-${e.kind}${e.reason ? ` reason-${e.reason}` : ""}${e.event ? ` event-${e.event}` : ""}`,
          "data-event": e.kind,
          "data-member": e.memberId ?? e.holder ?? "",
          "data-group": e.group ?? e.name ?? "",
          "data-reason": e.reason ?? "",
          "data-token": e.token ?? "",
          "data-reactor-event": e.event ?? "",
          "data-key": e.key ?? "",
        },
        h("time", {}, clock(e.at)),
        h("span", {}, describe(e)),
      ),
    ),
  );
  if (entries.length === 0) list.append(h("li", { class: "empty" }, "no events yet"));
}

function renderHeader() {
  const s = state.server;
  const dl = /** @type {HTMLElement} */ (document.getElementById("server"));
  const session = !state.live ? "offline" : (s?.session ?? "unknown");
  /** @param {string} term @param {string} value @param {Record<string, string>} [attributes] */
  const item = (term, value, attributes = {}) => h("div", {}, h("dt", {}, term), h("dd", attributes, value));
  dl.replaceChildren(
    item("backend", s ? visible(short(s.label, 200)) : "…"),
    item("as", s ? visible(s.memberId) : "…"),
    item("session", session, { class: `state-${session}`, id: "session", "data-session": session }),
    item("session timeout", s ? `${s.sessionTimeout} ms` : "…"),
    item("renewal round trip", s?.roundTrip != null ? `${s.roundTrip.toFixed(1)} ms` : "—", {
      id: "round-trip",
    }),
  );
  const banner = /** @type {HTMLElement} */ (document.getElementById("banner"));
  const main = /** @type {HTMLElement} */ (document.getElementById("main"));
  let warning = "";
  if (!state.live) {
    warning = state.lostAt
      ? `Lost the connection to the dashboard server ${duration(Date.now() - state.lostAt)} ago; reconnecting. What is shown is not live.`
      : "Connecting to the dashboard server…";
  } else if (s && s.session !== "connected") {
    warning = `The backend is unreachable: the session has been ${s.session} for ${duration(serverNow() - s.sessionSince)}. What is shown is not live and may be stale.`;
  }
  banner.hidden = warning === "";
  banner.textContent = warning;
  banner.setAttribute("data-state", warning === "" ? "live" : state.live ? "stale" : "offline");
  main.setAttribute("data-live", String(warning === ""));
}

/** A pending render's timer, if any. */
let pending = /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined);
/** When the last render ended (performance.now()). */
let lastRender = Number.NEGATIVE_INFINITY;
/** Renders at most this often (ms): at once when idle, coalesced in a burst of changes. */
const RENDER_INTERVAL_MS = 50;

function render() {
  clearTimeout(pending);
  pending = undefined;
  renderHeader();
  renderReactors();
  renderGroups();
  renderContests("elections", state.elections, "election");
  renderContests("locks", state.locks, "lock");
  renderTimeline();
  renderConfigs();
  lastRender = performance.now();
}

/** A change arrived: show it now if the page was idle (lowest latency), else coalesced with others. */
function scheduleRender() {
  if (pending !== undefined) return;
  const wait = lastRender + RENDER_INTERVAL_MS - performance.now();
  if (wait <= 0) render();
  else pending = setTimeout(render, wait);
}

// ---- the stream -------------------------------------------------------------------------------------

const events = new EventSource("events");
events.addEventListener("message", (event) => {
  const batch = JSON.parse(event.data);
  for (const message of batch) apply(message);
  scheduleRender();
});
events.addEventListener("error", () => {
  if (state.live) state.lostAt = Date.now();
  state.live = false;
  scheduleRender();
});
// Ages and the banner's durations move on by themselves.
setInterval(scheduleRender, 1000);
render();
