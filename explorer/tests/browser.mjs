// The explorer in a real browser (Debian's chromium, driven by playwright-core), for
// node/tests/e2e_apps/explorer.rs. Prints one JSON report of what the pages showed.
//
//   node browser.mjs up EXPLORER_URL NODE_WS OUT_DIR    submit a job as Alice (@polkadot/api),
//       watch it reach Finalized in the jobs table, read its page, watch the worker's jobs-done
//       count go up, open an unknown job; a screenshot of each page in OUT_DIR
//   node browser.mjs down EXPLORER_URL OUT_DIR          the node is gone: the page says so
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { chromium } from 'playwright-core';

const [phase, base, ...rest] = process.argv.slice(2);
// Never hang a test run: a phase takes a few minutes at most.
setTimeout(() => {
  console.error(`browser.mjs ${phase}: not done within 280 s`);
  process.exit(1);
}, 280_000).unref();
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const problems = [];
page.on('pageerror', (error) => problems.push(error.message));
const report = { problems };

async function shot(dir, name) {
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
}

async function open(hash) {
  await page.goto(`${base}/${hash}`);
}

/** A page that rendered its failure notice is a problem, like a script error. */
async function check(name) {
  const failed = await page.locator('p.notice', { hasText: 'this page failed' }).allTextContents();
  for (const text of failed) problems.push(`${name}: ${text}`);
}

try {
  if (phase === 'up') {
    const [ws, out] = rest;
    await open('#/workers');
    const firstRow = page.locator('#workers tbody tr[data-worker]').first();
    await firstRow.waitFor({ timeout: 60_000 });
    report.worker = await firstRow.getAttribute('data-worker');
    report.jobsDoneBefore = Number(await firstRow.locator('[data-testid=jobs-done]').textContent());

    // A job, as a wallet submits it.
    const api = await ApiPromise.create({ provider: new WsProvider(ws), noInitWarn: true });
    const alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
    const fee = (await api.query.models.models(0)).unwrap().info.minFee;
    const prompt = 'Name a primary colour.';
    report.jobId = await new Promise((resolve, reject) => {
      api.tx.jobs
        .submitJob(0, { Generate: { prompt, maxTokens: 8 } }, fee)
        .signAndSend(alice, ({ status, events, dispatchError }) => {
          if (dispatchError) reject(new Error(dispatchError.toString()));
          if (status.isInvalid || status.isDropped || status.isUsurped) reject(new Error(`submitJob: ${status.type}`));
          if (status.isInBlock) {
            const submitted = events.find(({ event }) => api.events.jobs.JobSubmitted.is(event));
            if (submitted) resolve(submitted.event.data.jobId.toNumber());
          }
        })
        .catch(reject);
    });
    await api.disconnect();

    // The jobs table: the row appears, then reaches Finalized, without a reload.
    await open('#/jobs');
    const row = page.locator(`#jobs tr[data-job-id="${report.jobId}"]`);
    await row.waitFor({ timeout: 60_000 });
    report.firstStatus = await row.getAttribute('data-status');
    await page.locator(`#jobs tr[data-job-id="${report.jobId}"][data-status="Finalized"]`).waitFor({ timeout: 180_000 });
    report.tableStatus = 'Finalized';
    await check('jobs');
    await shot(out, 'jobs');
    // The filters narrow the table: the rows shown, by id and status, under two filters.
    const rows = () =>
      page.locator('#jobs tr[data-job-id]').evaluateAll((trs) => trs.map((tr) => [Number(tr.dataset.jobId), tr.dataset.status]));
    for (const status of ['Finalized', 'Refunded']) {
      await page.selectOption('#job-filters select[name=status]', status);
      await page.waitForFunction((s) => location.hash === `#/jobs?status=${s}`, status);
      await page.locator(`#jobs[data-filter="${status}"]`).waitFor();
      report[`filter${status}`] = await rows();
    }

    // The job's page: input, output, hashes, timeline, the command that verifies it.
    await open(`#/job/${report.jobId}`);
    await page.locator('[data-testid=output]').waitFor({ timeout: 30_000 });
    // The page's state and its events are read at one block: the finalization is in both.
    await page.locator('.timeline li[data-event=JobFinalized]').waitFor({ timeout: 30_000 });
    await check('job');
    report.pageStatus = await page.locator('[data-testid=status]').textContent();
    report.prompt = await page.locator('[data-testid=prompt]').textContent();
    report.output = await page.locator('[data-testid=output]').textContent();
    report.outputHash = await page.locator('[data-testid=output-hash]').textContent();
    report.verify = await page.locator('[data-testid=verify]').textContent();
    report.events = await page.locator('.timeline li[data-event]').evaluateAll((items) => items.map((li) => li.dataset.event));
    await shot(out, 'job');

    // The worker's count goes up.
    await open('#/workers');
    const worker = page.locator(`#workers tr[data-worker="${report.worker}"] [data-testid=jobs-done]`);
    await page.waitForFunction(
      ([address, before]) => {
        const cell = document.querySelector(`#workers tr[data-worker="${address}"] [data-testid=jobs-done]`);
        return cell && Number(cell.textContent) > before;
      },
      [report.worker, report.jobsDoneBefore],
      { timeout: 60_000 },
    );
    report.jobsDoneAfter = Number(await worker.textContent());
    await check('workers');
    await shot(out, 'workers');

    await open('#/job/999999');
    report.unknownJob = await page.locator('[data-testid=not-found]').textContent({ timeout: 30_000 });
    await open('#/registry');
    await page.locator('#models tr[data-model]').first().waitFor({ timeout: 30_000 });
    report.models = await page.locator('#models tr[data-model]').count();
    await check('registry');
    await shot(out, 'registry');
    await open('#/disputes');
    await page.locator('h2', { hasText: 'Disputes' }).waitFor({ timeout: 30_000 });
    await check('disputes');
    await shot(out, 'disputes');
    await open('#/');
    await page.locator('#network').waitFor({ timeout: 30_000 });
    report.charts = await page.locator('figure.chart').count();
    report.finalized = Number(await page.locator('[data-testid=finalized]').textContent());
    await check('network');
    report.bannerHidden = await page.locator('#banner').isHidden();
    await shot(out, 'network');
  } else if (phase === 'down') {
    const [out] = rest;
    await open('#/jobs');
    await page.locator('#banner:not([hidden])').waitFor({ timeout: 30_000 });
    report.banner = await page.locator('#banner').textContent();
    await shot(out, 'unreachable');
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
process.exit(0);
