// KPI Arena's service worker. It keeps two things, and nothing personal:
//  - the static files under /pkg/, for a fast second load on a phone or a TV stick: cache first,
//    as their names carry their content's hash; except the main script and WASM, which a split
//    build names before it writes the chunk loader's name into them (the server sends them as
//    no-cache too): network first, the kept copy for when there is no network.
//  - the TV wall (/tv) as last loaded, so a TV that reloads while its network is gone shows the
//    last standings, with its "stale" warning, instead of the browser's error page.
// Reps' and managers' pages are never kept: a shared computer must not show them to the next person.
const ASSETS = "kpi-arena-assets-v1";
const WALL = "kpi-arena-wall-v1";
const KEEP = [ASSETS, WALL];
// The main script and WASM (`/pkg/kpi-arena.<hash>.js|wasm`): network first.
const MAIN = /^\/pkg\/kpi-arena\.[^/]+\.(js|wasm)$/;

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      // Caches of an older worker go; so do files of older builds (a build names its files anew).
      for (const name of await caches.keys()) if (!KEEP.includes(name)) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (MAIN.test(url.pathname)) event.respondWith(fresh(request));
  else if (url.pathname.startsWith("/pkg/")) event.respondWith(asset(request));
  else if (request.mode === "navigate" && url.pathname === "/tv") event.respondWith(wall(request));
});

// Cache first: a hashed file, once fetched, is kept.
async function asset(request) {
  const cache = await caches.open(ASSETS);
  const kept = await cache.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await keep(cache, request, response.clone());
  return response;
}

// Network first for the main files: their names do not tell a new build.
async function fresh(request) {
  const cache = await caches.open(ASSETS);
  let response;
  try {
    response = await fetch(request);
  } catch (offline) {
    const kept = await cache.match(request);
    if (kept) return kept;
    throw offline;
  }
  if (response.ok) {
    await keep(cache, request, response.clone());
    await dropOlderMain(cache, new URL(request.url).pathname).catch(() => {});
  }
  return response;
}

// A phone never loads the wall, so a main file of another name is what tells it of a new build:
// the older builds' main files of that kind (the largest files by far) go.
async function dropOlderMain(cache, path) {
  const kind = path.slice(path.lastIndexOf("."));
  for (const request of await cache.keys()) {
    const other = new URL(request.url).pathname;
    if (other !== path && MAIN.test(other) && other.endsWith(kind)) {
      await cache.delete(request);
    }
  }
}

// A full disk must not fail the page: what cannot be kept is only not kept.
async function keep(cache, key, response) {
  try {
    await cache.put(key, response);
  } catch (full) {
    console.warn("KPI Arena: not kept", key, full);
  }
}

// Network first: the wall is always fresh while the server answers; the copy is for when it does not.
async function wall(request) {
  const cache = await caches.open(WALL);
  let response;
  try {
    response = await fetch(request);
  } catch (offline) {
    const kept = await cache.match("/tv");
    if (kept) return kept;
    throw offline;
  }
  if (response.ok) {
    await keep(cache, "/tv", response.clone());
    await dropOldAssets(response.clone()).catch(() => {});
  }
  return response;
}

// A wall naming an app script the cache lacks is a new build: the files of older builds go, so
// the cache does not grow with every release (file names carry their content's hash).
async function dropOldAssets(response) {
  const html = await response.text();
  const script = html.match(/\/pkg\/kpi-arena\.[^"'\s]+\.js/);
  const cache = await caches.open(ASSETS);
  if (!script || (await cache.match(script[0]))) return;
  const named = new Set([...html.matchAll(/\/pkg\/[^"'\s)]+/g)].map((m) => m[0]));
  for (const request of await cache.keys()) {
    if (!named.has(new URL(request.url).pathname)) await cache.delete(request);
  }
}
