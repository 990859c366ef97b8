'use strict';
// One load worker of `python -m bench live`: holds N websocket-only socket.io clients (the
// official socket.io-client, the version the browser runs) joined to one thread room, and
// records when each `post:new` arrives.
//
// Receipt times are process.hrtime.bigint() in microseconds: CLOCK_MONOTONIC on Linux, the
// clock Python's time.monotonic_ns() reads, so the benchmark subtracts them from its send times
// directly. The handler only stores three numbers in typed arrays; everything else (grouping,
// duplicates) happens after the measurement, on "finish".
//
// Protocol: the environment variable CFB_WORKER_CONFIG holds a JSON config. stdout carries
// JSON lines (clock, ready, idle, progress, done, error); stdin takes "start", "idle" and
// "finish" lines. EOF on stdin (the benchmark died) ends the
// worker, and so does cfg.maxSeconds.

const path = require('path');
const fs = require('fs');
const readline = require('readline');
const { monitorEventLoopDelay } = require('perf_hooks');

const cfg = JSON.parse(process.env.CFB_WORKER_CONFIG);
const { io } = require(path.join(cfg.nodeModules, 'socket.io-client'));

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

setTimeout(() => {
  out({ type: 'error', message: `worker ${cfg.worker} exceeded its ${cfg.maxSeconds} s lifetime` });
  process.exit(3);
}, cfg.maxSeconds * 1000).unref();

out({ type: 'clock', us: nowUs() });

// --- receipts: three growable typed arrays -------------------------------------------------
let cap = Math.max(1024, Math.ceil(cfg.clients * cfg.expectedPosts * 1.05) + 1024);
let rClient = new Int32Array(cap);
let rPost = new Float64Array(cap); // post ids are bigints in PostgreSQL; < 2^53 here
let rTime = new Float64Array(cap);
let n = 0;

function record(client, postId, t) {
  if (n === cap) {
    cap *= 2;
    const c = new Int32Array(cap); c.set(rClient); rClient = c;
    const p = new Float64Array(cap); p.set(rPost); rPost = p;
    const tt = new Float64Array(cap); tt.set(rTime); rTime = tt;
  }
  rClient[n] = client;
  rPost[n] = postId;
  rTime[n] = t;
  n += 1;
}

// --- clients -----------------------------------------------------------------------------------
const sockets = new Array(cfg.clients);
const joinedFlag = new Uint8Array(cfg.clients);
let connected = 0;
let joined = 0;
let failed = 0;
let disconnects = 0;
const disconnectReasons = {};
const errors = [];
let presenceEvents = 0;
let lastPresenceUs = 0;
let extensions = null;

function connectOne(i) {
  return new Promise((resolve) => {
    const socket = io(cfg.url, {
      transports: ['websocket'],
      forceNew: true, // one connection per client, as N browsers would have
      reconnection: false, // a drop is counted, not hidden
      timeout: cfg.timeoutMs,
      auth: cfg.token ? { token: cfg.token } : undefined,
      // Through nginx (bench/deployment.py): its self-signed certificate, and a sticky-session
      // cookie of the client's own, as a browser gets from nginx, so clients spread over the
      // processes instead of all following the one address they share.
      rejectUnauthorized: !cfg.insecure,
      extraHeaders: cfg.lbCookie ? { Cookie: `confer_lb=${cfg.lbCookie}-${i}` } : undefined,
      perMessageDeflate: cfg.deflate ? { threshold: 1024 } : false,
    });
    sockets[i] = socket;
    let settled = false;
    const done = (ok, why) => {
      if (settled) return;
      settled = true;
      if (!ok) {
        failed += 1;
        if (errors.length < 10) errors.push(String(why));
      }
      resolve(ok);
    };
    socket.on('post:new', (post) => record(i, post.id, nowUs()));
    socket.on('presence', () => {
      presenceEvents += 1;
      lastPresenceUs = nowUs();
    });
    socket.on('connect_error', (e) => done(false, `connect_error: ${e.message}`));
    socket.on('disconnect', (reason) => {
      if (joinedFlag[i]) disconnects += 1;
      disconnectReasons[reason] = (disconnectReasons[reason] || 0) + 1;
      done(false, `disconnect: ${reason}`);
    });
    socket.on('connect', async () => {
      connected += 1;
      if (extensions === null) {
        const ws = socket.io.engine && socket.io.engine.transport && socket.io.engine.transport.ws;
        extensions = ws && typeof ws.extensions === 'string' ? ws.extensions : '';
      }
      try {
        const ack = await socket.timeout(cfg.timeoutMs).emitWithAck('join', { room: cfg.room });
        if (ack && ack.ok) {
          joinedFlag[i] = 1;
          joined += 1;
          done(true);
        } else {
          done(false, `join refused: ${JSON.stringify(ack && ack.error)}`);
        }
      } catch (e) {
        done(false, `join: ${e.message}`);
      }
    });
  });
}

async function connectAll() {
  const t0 = nowUs();
  let next = 0;
  const runner = async () => {
    while (next < cfg.clients) {
      const i = next;
      next += 1;
      await connectOne(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency, cfg.clients) }, runner));
  out({
    type: 'ready', connected, joined, failed, errors, extensions,
    seconds: (nowUs() - t0) / 1e6,
  });
}

// --- measurement ----------------------------------------------------------------------------
const loop = monitorEventLoopDelay({ resolution: 5 });
let cpuAtStart = null;
let startedUs = 0;
let progress = null;

function start() {
  loop.reset();
  loop.enable();
  cpuAtStart = process.cpuUsage();
  startedUs = nowUs();
  progress = setInterval(() => out({ type: 'progress', records: n }), 250);
}

function idle() {
  out({
    type: 'idle', presenceEvents,
    sinceLastPresence: lastPresenceUs ? (nowUs() - lastPresenceUs) / 1e6 : null,
    records: n,
  });
}

function finish() {
  if (progress) clearInterval(progress);
  loop.disable();
  const cpu = cpuAtStart ? process.cpuUsage(cpuAtStart) : process.cpuUsage();
  // Group receipts by post: one time per client; a second receipt is a duplicate.
  const perClient = new Array(cfg.clients);
  const posts = {};
  let duplicates = 0;
  const duplicatePosts = {};
  for (let k = 0; k < n; k += 1) {
    const c = rClient[k];
    const id = rPost[k];
    let seen = perClient[c];
    if (seen === undefined) {
      seen = new Set();
      perClient[c] = seen;
    }
    if (seen.has(id)) {
      duplicates += 1;
      duplicatePosts[id] = (duplicatePosts[id] || 0) + 1;
      continue;
    }
    seen.add(id);
    (posts[id] || (posts[id] = [])).push(rTime[k]);
  }
  const result = {
    worker: cfg.worker, clients: cfg.clients, connected, joined, failed, errors,
    disconnects, disconnectReasons, duplicates, duplicatePosts, receipts: n, posts,
    extensions, presenceEvents,
    measuredSeconds: (nowUs() - startedUs) / 1e6,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssMb: Math.round(process.memoryUsage().rss / 1048576),
    eventLoopDelayMs: {
      p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6,
    },
  };
  fs.writeFileSync(cfg.resultsPath, JSON.stringify(result));
  out({ type: 'done' });
  for (const s of sockets) if (s) s.disconnect();
  setTimeout(() => process.exit(0), 200);
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'start') start();
  else if (cmd === 'idle') idle();
  else if (cmd === 'finish') finish();
}).on('close', () => process.exit(0));

connectAll().catch((e) => {
  out({ type: 'error', message: String(e && e.stack || e) });
  process.exit(2);
});
