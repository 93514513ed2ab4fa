#!/usr/bin/env node
// A stand-in for the sidecar, started by Insighter Lab's supervisor in the
// proxy tests (INSIGHTER_SIDECAR_COMMAND="node upstream.js"). It reads the
// same environment as the real sidecar and exposes what the tests inspect:
//
//   GET  /health                 {status, pid}
//   ANY  /echo                   the request as received (method, url, headers, body)
//   ANY  /api/v1/predict/<slug>  the same, where the prediction endpoint is
//   GET  /stream?size=&hold=1    `size` deterministic bytes; with hold=1 the
//                                first 64 KiB go out, the rest only after POST /release
//   POST /release                lets held streams finish
//   POST /upload?id=             consumes the body: {bytes, sha256}
//   GET  /upload-progress?id=    bytes of that upload received so far
//   GET  /bytes                  1000 bytes, honours Range (206)
//   GET  /status/<code>          that status, a custom header and two cookies
//   GET  /redirect               302 to /echo
//   GET  /page?policy=           an HTML page (with that Content-Security-Policy,
//                                X-Content-Type-Options: sniff)
//   WS   /ws/echo                echoes text and binary frames, picks the first subprotocol
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const { WebSocketServer } = require('ws');

const host = process.env.INSIGHTER_HOST || '127.0.0.1';
const port = Number(process.env.INSIGHTER_API_PORT || 8000);
const secret = process.env.INSIGHTER_PROXY_SECRET || '';

/** Byte i of every generated body: easy to check anywhere in the stream. */
function pattern(offset, length) {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = (offset + i) % 251;
  return buf;
}

const uploads = new Map();
let releaseHeld = [];

function json(res, status, body, headers = {}) {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': data.length,
    ...headers
  });
  res.end(data);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function stream(req, res, url) {
  const size = Number(url.searchParams.get('size') || 1024 * 1024);
  const hold = url.searchParams.get('hold') === '1';
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': size
  });
  let sent = 0;
  const write = length =>
    new Promise(resolve => {
      const ok = res.write(pattern(sent, length));
      sent += length;
      if (ok) resolve();
      else res.once('drain', resolve);
    });
  const first = Math.min(64 * 1024, size);
  await write(first);
  if (hold) {
    await new Promise(resolve => releaseHeld.push(resolve));
  }
  while (sent < size) {
    await write(Math.min(256 * 1024, size - sent));
  }
  res.end();
}

async function upload(req, res, url) {
  const id = url.searchParams.get('id') || 'default';
  const hash = crypto.createHash('sha256');
  const state = { bytes: 0 };
  uploads.set(id, state);
  for await (const chunk of req) {
    hash.update(chunk);
    state.bytes += chunk.length;
  }
  json(res, 200, { bytes: state.bytes, sha256: hash.digest('hex') });
}

function bytes(req, res) {
  const all = pattern(0, 1000);
  const range = /^bytes=(\d+)-(\d+)?$/.exec(req.headers.range || '');
  if (range) {
    const start = Number(range[1]);
    const end = range[2] === undefined ? all.length - 1 : Number(range[2]);
    const part = all.subarray(start, end + 1);
    res.writeHead(206, {
      'Content-Type': 'application/octet-stream',
      'Content-Range': `bytes ${start}-${end}/${all.length}`,
      'Content-Length': part.length,
      'Accept-Ranges': 'bytes'
    });
    res.end(part);
    return;
  }
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': all.length,
    'Accept-Ranges': 'bytes'
  });
  res.end(all);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://upstream');
  try {
    if (url.pathname === '/health') {
      return json(res, 200, { status: 'ok', pid: process.pid });
    }
    if (
      url.pathname === '/echo' ||
      url.pathname.startsWith('/api/v1/predict/')
    ) {
      const body = await readBody(req);
      return json(res, 200, {
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: body.toString('utf8'),
        bodyLength: body.length,
        secretMatches: req.headers['x-insighter-proxy-secret'] === secret
      });
    }
    if (url.pathname === '/stream') return await stream(req, res, url);
    if (url.pathname === '/release') {
      const held = releaseHeld;
      releaseHeld = [];
      held.forEach(resolve => resolve());
      return json(res, 200, { released: held.length });
    }
    if (url.pathname === '/upload') return await upload(req, res, url);
    if (url.pathname === '/upload-progress') {
      const state = uploads.get(url.searchParams.get('id') || 'default');
      return json(res, 200, { bytes: state ? state.bytes : 0 });
    }
    if (url.pathname === '/bytes') return bytes(req, res);
    const status = /^\/status\/(\d{3})$/.exec(url.pathname);
    if (status) {
      res.statusCode = Number(status[1]);
      res.setHeader('X-Upstream', 'yes');
      res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/']);
      return res.end();
    }
    if (url.pathname === '/page') {
      const policy = url.searchParams.get('policy');
      res.writeHead(200, {
        'Content-Type': 'text/html',
        'X-Content-Type-Options': 'sniff',
        ...(policy ? { 'Content-Security-Policy': policy } : {})
      });
      return res.end('<script>document.title = document.cookie</script>');
    }
    if (url.pathname === '/redirect') {
      res.writeHead(302, { Location: '/echo?from=redirect' });
      return res.end();
    }
    json(res, 404, { error: { code: 'not_found', message: url.pathname } });
  } catch (err) {
    if (!res.headersSent)
      json(res, 500, { error: { code: 'upstream', message: String(err) } });
    else res.destroy();
  }
});

const wss = new WebSocketServer({
  noServer: true,
  handleProtocols: protocols => protocols.values().next().value || false
});
wss.on('connection', (socket, req) => {
  socket.send(
    JSON.stringify({
      hello: true,
      secretMatches: req.headers['x-insighter-proxy-secret'] === secret
    })
  );
  socket.on('message', (data, isBinary) =>
    socket.send(data, { binary: isBinary })
  );
});
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url, 'http://upstream').pathname !== '/ws/echo') {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, ws => wss.emit('connection', ws, req));
});

server.listen(port, host, () => {
  process.stdout.write(
    `test upstream listening on ${host}:${port} (pid ${process.pid})\n`
  );
});

const stop = () => {
  wss.clients.forEach(client => client.terminate());
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
