// The explorer's entry point: the node's URL (`?rpc=ws://…`, else the one `serve.mjs` was given,
// else ws://127.0.0.1:9944), the connection banner, and a hash router that renders the current
// page again at every finalized block.
import { Chain } from './chain.js';
import * as views from './views.js';

const params = new URLSearchParams(location.search);
const url = params.get('rpc') ?? window.VERITY_RPC ?? 'ws://127.0.0.1:9944';
const asked = Number(params.get('history') ?? 256);
const history = Number.isInteger(asked) && asked >= 1 ? Math.min(asked, 20_000) : 256;
const chain = new Chain(url, history);
const app = document.getElementById('app');
const banner = document.getElementById('banner');
document.getElementById('endpoint').textContent = url;

/** The page and its query for the current hash (`#/job/3`, `#/jobs?status=Finalized`). */
function route() {
  const [path, search] = (location.hash.slice(1) || '/').split('?');
  return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(search ?? '') };
}

let shown = '';
let busy = false;
let again = false;

/** Renders the page for the hash: one render at a time, and requests made meanwhile become
 * one more render after it. */
async function render() {
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  try {
    do {
      again = false;
      await draw();
    } while (again);
  } finally {
    busy = false;
  }
}

const escape = (text) => String(text).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

async function draw() {
  {
    banner.textContent = chain.problem ?? chain.loading ?? '';
    banner.hidden = !banner.textContent;
    if (!chain.snapshot) {
      if (!chain.problem) app.innerHTML = '<p class="muted">connecting…</p>';
      return;
    }
    const { parts, query } = route();
    let html;
    try {
      switch (parts[0] ?? '') {
        case '':
          html = views.overview(chain, query);
          break;
        case 'jobs':
          html = views.jobs(chain, query);
          break;
        case 'job':
          html = await views.job(chain, Number(parts[1]));
          break;
        case 'workers':
          html = views.workers(chain);
          break;
        case 'worker':
          html = views.worker(chain, parts[1] ?? '');
          break;
        case 'disputes':
          html = views.disputes(chain);
          break;
        case 'registry':
          html = views.registry(chain);
          break;
        default:
          html = `<p class="notice">no page ${escape(parts[0])}</p>`;
      }
    } catch (error) {
      html = `<p class="notice">this page failed: ${escape(error.message)}</p>`;
    }
    if (html !== shown) {
      app.innerHTML = html;
      shown = html;
      views.bindFilters(app);
    }
    document.body.dataset.finalized = String(chain.finalized);
    for (const a of document.querySelectorAll('nav a')) {
      a.classList.toggle('here', a.getAttribute('href').split('/')[1] === (location.hash.split('/')[1] ?? '').split('?')[0]);
    }
  }
}

chain.subscribe(render);
window.addEventListener('hashchange', render);
render();
chain.start().catch((error) => {
  banner.hidden = false;
  banner.textContent = `cannot start: ${error.message}`;
});
