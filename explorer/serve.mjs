// Serves dist/ on localhost, with /config.js naming the node to connect to.
// Usage: node serve.mjs --url ws://127.0.0.1:9944 --port 8080
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] ? args[at + 1] : fallback;
};
const url = option('--url', 'ws://127.0.0.1:9944');
const port = Number(option('--port', '8080'));
const host = option('--host', '127.0.0.1');
if (!/^wss?:\/\//.test(url) || !Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node serve.mjs [--url ws://HOST:PORT] [--port 8080] [--host 127.0.0.1]');
  process.exit(2);
}
const root = join(fileURLToPath(new URL('.', import.meta.url)), 'dist');
// The page runs only its own scripts and talks only to WebSocket endpoints: a hostile node's
// data cannot load code even if it slipped past the escaping.
const headers = {
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

createServer(async (request, response) => {
  let path;
  try {
    path = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
  } catch {
    response.writeHead(400, { 'content-type': 'text/plain' }).end('bad request\n');
    return;
  }
  if (path === '/config.js') {
    response.writeHead(200, { ...headers, 'content-type': 'text/javascript', 'cache-control': 'no-store' });
    response.end(`window.VERITY_RPC = ${JSON.stringify(url)};\n`);
    return;
  }
  const file = normalize(join(root, path === '/' ? 'index.html' : path));
  if (!file.startsWith(root + sep)) {
    response.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(file);
    response.writeHead(200, { ...headers, 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    response.end(body);
  } catch {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
}).listen(port, host, () => console.log(`explorer: http://${host}:${port}/ → ${url}`));
